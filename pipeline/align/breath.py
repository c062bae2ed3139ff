"""Breath is not speech: a line starts where its voice does, and ends where it stops.

An inhalation before a phrase, a lip smack or a click is loud enough for the
energy envelope to count as sound, but it is noise: no voicing
(:mod:`pipeline.audio.voicing`). A line's own first sound reaches a voiced one
within a few tenths of a second, and its last voiced sound is followed by at
most a short unvoiced ending. When the voice begins (or ends) further from the
onset (or offset) the envelope found, and what lies between is set apart from
the voice by a pause or a deep dip in energy, that stretch is not the line's.

Measured on the festvox-ru recordings ru_0101-ru_0620 (phone labels): the
first voiced frame comes at most 0.30 s after a line's first sound (fricatives
such as «с»; vowels 0.15 s, stops 0.13 s), and a line's end at most 0.50 s after
its last voiced frame («х», «ть»; 0.38 s after a devoiced vowel).
"""

from __future__ import annotations

import numpy as np

from pipeline.align.speech import Speech
from pipeline.audio import Envelope
from pipeline.audio.voicing import voiced_offset, voiced_onset

UNVOICED_LEAD = 0.32  # longest stretch of a line's own sound before its first voiced one
UNVOICED_TAIL = 0.5  # ... and after its last
REACH = 1.5  # how far from an onset (offset) the voice is looked for
DIP_DB = 15.0  # a dip this deep between breath and voice parts them even without a pause
RUN_FRAMES = 3  # frames of the voice that bound the search for a dip
MIN_PART = 3  # frames of sound either side of a dip, so a dip is not a sound's own edge
# A sound set apart by a pause and this much fainter than the speech after it is a breath,
# a smack or a hum, voiced or not: on the festvox-ru recordings a line's first sound peaks at
# most 19 dB under its next 0.6 s («ф»; «с» 15 dB), breaths before lines 29-37 dB under.
FAINT_DB = 22.0
# A sound set apart before the voice must also last FAINT_LASTS or stand FAINT_GAP apart to be
# taken for a breath: a synthetic voice's units may open with an 80 ms blip 60 ms before the
# sound (inhalations last 0.2 s and more). At a line's end only the gap counts (a final «т»
# after its closure is faint, short and close).
FAINT_LASTS = 0.12
FAINT_GAP = 0.15
_FAINT_SPAN = 60  # frames of the neighbouring speech whose peak it is compared with


def voice_start(speech: Speech, onset: float, latest: float) -> float:
    """Where the line that sounds at ``onset`` really begins (onsets up to ``latest`` considered)."""
    env = speech.env
    onset = _past_faint(env, onset, latest)
    voice = voiced_onset(speech.samples, onset, min(latest, onset + REACH))
    if voice is None or voice - onset <= UNVOICED_LEAD:
        return onset  # voiced at once, or no voice to be found (noise): leave it
    a, b = np.searchsorted(env.onsets, [(onset + env.hop) / env.hop, (voice + env.hop) / env.hop])
    if a < b:  # a pause sets the sound at ``onset`` apart: the voice's own stretch starts later
        if not _breath_like(env, a - 1, b - 1):
            return onset
        return float(env.onsets[b - 1] * env.hop + env.onset_lag)
    dip = _dip(env.db, env.frame(onset), env.frame(voice) + RUN_FRAMES, last=True)
    return onset if dip is None else dip * env.hop + env.onset_lag


def voice_end(speech: Speech, offset: float, earliest: float) -> float:
    """Where the line whose sound stops at ``offset`` really ends (offsets from ``earliest`` considered)."""
    env = speech.env
    offset = _before_faint(env, offset, earliest)
    voice = voiced_offset(speech.samples, max(earliest, offset - REACH), offset)
    if voice is None or offset - voice <= UNVOICED_TAIL:
        return offset
    a, b = np.searchsorted(env.offsets, [voice / env.hop, (offset - env.hop) / env.hop])
    if a < b:
        return float(env.offsets[a] * env.hop)
    dip = _dip(env.db, env.frame(voice) - RUN_FRAMES, env.frame(offset), last=False)
    return offset if dip is None else dip * env.hop


def _past_faint(env: Envelope, onset: float, latest: float) -> float:
    """The first onset from ``onset`` whose sound is not a faint blip set apart before louder speech."""
    k = int(np.searchsorted(env.onsets, (onset - env.onset_lag) / env.hop - 0.5))
    while k + 1 < env.onsets.size and env.onsets[k + 1] * env.hop + env.onset_lag <= latest:
        here = env.db[env.onsets[k] : env.offsets[k]].max(initial=-np.inf)
        after = env.db[env.onsets[k + 1] : env.onsets[k + 1] + _FAINT_SPAN].max(initial=-np.inf)
        if here > after - FAINT_DB or not _breath_like(env, k, k + 1):
            break
        k += 1
        onset = float(env.onsets[k] * env.hop + env.onset_lag)
    return onset


def _breath_like(env: Envelope, first: int, voice: int) -> bool:
    """Whether the sound from onset ``first`` up to onset ``voice`` lasts or stands apart like a breath."""
    lasts = (env.offsets[voice - 1] - env.onsets[first]) * env.hop >= FAINT_LASTS
    return lasts or (env.onsets[voice] - env.offsets[voice - 1]) * env.hop >= FAINT_GAP


def _before_faint(env: Envelope, offset: float, earliest: float) -> float:
    """The last offset up to ``offset`` whose sound is not a faint blip set apart after louder speech."""
    k = int(np.searchsorted(env.offsets, offset / env.hop + 0.5)) - 1
    while k >= 1 and env.offsets[k - 1] * env.hop >= earliest:
        here = env.db[env.onsets[k] : env.offsets[k]].max(initial=-np.inf)
        before = env.db[max(0, env.offsets[k - 1] - _FAINT_SPAN) : env.offsets[k - 1]].max(initial=-np.inf)
        if here > before - FAINT_DB or (env.onsets[k] - env.offsets[k - 1]) * env.hop < FAINT_GAP:
            break
        k -= 1
        offset = float(env.offsets[k] * env.hop)
    return offset


def _dip(db: np.ndarray, lo: int, hi: int, last: bool) -> int | None:
    """A frame inside ``lo``..``hi`` at least ``DIP_DB`` quieter than the loudest on each side of it
    (within ``lo``..``hi``): the latest such frame if ``last``, else the earliest."""
    inner = range(lo + MIN_PART, hi - MIN_PART)
    for f in reversed(inner) if last else inner:
        if db[f] <= min(db[lo:f].max(), db[f + 1 : hi].max()) - DIP_DB:
            return f
    return None
