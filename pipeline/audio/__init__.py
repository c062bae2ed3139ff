"""Audio in: decoding to 16 kHz mono, the energy envelope, and the speech chunks Whisper encodes."""

from pipeline.audio.decoder import SAMPLE_RATE, check_file, decode, duration, states_its_length
from pipeline.audio.energy import Envelope, envelope
from pipeline.audio.feed import Feed

__all__ = [
    "SAMPLE_RATE",
    "Envelope",
    "Feed",
    "check_file",
    "decode",
    "duration",
    "envelope",
    "states_its_length",
]
