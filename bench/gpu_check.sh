#!/usr/bin/env bash
# Issue #4's GPU check, as run on a lent GPU machine (the workplace's `device` tool).
#
# That machine has Python 3.12 with numpy, tokenizers, onnxruntime and
# huggingface_hub, and no network: wheels for the rest, the model's bytes and
# the 1-hour episode come in folders .gpu1 .. .gpu4 (see `prepare` below, run
# here first), a few at a time, since one call carries at most 64 MiB.
#
#   bench/gpu_check.sh prepare   # here: fill .gpu1 .. .gpu4
#   bench/gpu_check.sh probe     # there: CTranslate2 sees the GPU?
#   bench/gpu_check.sh smoke     # there: the model encodes and decodes on it
#   bench/gpu_check.sh bench     # there: make bench's (a)-(d) on the sample and 1 h
#   bench/gpu_check.sh tests     # there: the test suite with the model on the GPU, and a batch
set -euo pipefail
export PYTHONUNBUFFERED=1
SITE=/tmp/subpipe-site  # + -.gpuN
MODEL=models/whisper-base
WHEELS=(ctranslate2==4.8.5 av==18.1.0 faster-whisper==1.2.1 num2words==0.5.14 jiwer==4.0.0 rapidfuzz==3.14.6)

prepare() {
  rm -rf .gpu1 .gpu2 .gpu3 .gpu4 && mkdir -p .gpu1 .gpu2 .gpu3 .gpu4
  local pip=(python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12
             --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64)
  "${pip[@]}" -d .gpu1 "${WHEELS[0]}"
  "${pip[@]}" -d .gpu4 "${WHEELS[@]:1}"
  .venv/bin/pip wheel -q --no-deps -w .gpu4 srt==3.5.3 docopt==0.6.2  # sdists only on PyPI
  # model.bin (145 MB) in three pieces that fit beside the wheels.
  dd if=$MODEL/model.bin of=.gpu1/model.bin.1 bs=1M count=18 status=none
  dd if=$MODEL/model.bin of=.gpu2/model.bin.2 bs=1M skip=18 count=61 status=none
  dd if=$MODEL/model.bin of=.gpu3/model.bin.3 bs=1M skip=79 status=none
  cp $MODEL/config.json $MODEL/vocabulary.txt .gpu3/  # what CTranslate2 itself loads
  cp $MODEL/tokenizer.json .gpu4/
  .venv/bin/python -c "from bench.throughput import cut_long; cut_long(61, suffix='.ogg')"
  cp .cache/bench/long61x1/episode.ogg .cache/bench/long61x1/episode.tsv .gpu4/
  du -sh .gpu?
}

environment() {
  # Each folder's wheels into a target of its own, once: the folders arrive call by call.
  local folder path=$PWD
  for folder in .gpu?; do
    if compgen -G "$folder/*.whl" >/dev/null && [[ ! -d $SITE-$folder ]]; then
      python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$SITE-$folder" "$folder"/*.whl
    fi
    path=$SITE-$folder:$path
  done
  export PYTHONPATH=$path
  # CTranslate2's wheel opens CUDA 12's libcublas.so.12; the machine has CUDA 13's.
  # The nine cuBLAS calls it makes (cublasGemmEx and kin) kept their signatures.
  local cublas
  cublas=$(find /opt /usr/local /usr/lib -name 'libcublas.so.13*' -print -quit 2>/dev/null || true)
  [[ -n $cublas ]] || { echo "no libcublas.so.13 on this machine"; exit 1; }
  mkdir -p /tmp/cuda12
  ln -sf "$cublas" /tmp/cuda12/libcublas.so.12
  export LD_LIBRARY_PATH=/tmp/cuda12:$(dirname "$cublas"):${LD_LIBRARY_PATH:-}
}

model() {
  mkdir -p $MODEL
  [[ -f $MODEL/model.bin ]] || cat .gpu1/model.bin.1 .gpu2/model.bin.2 .gpu3/model.bin.3 > $MODEL/model.bin
  cp .gpu*/config.json .gpu*/vocabulary.txt $MODEL/
  [[ ! -f .gpu4/tokenizer.json ]] || cp .gpu4/tokenizer.json $MODEL/
  ls -l $MODEL
}

case ${1:-} in
  prepare) prepare ;;
  probe)
    environment
    nvidia-smi --query-gpu=name,memory.total,memory.free,driver_version --format=csv || true
    python3 -c "import ctranslate2 as c; print('ctranslate2', c.__version__, 'cuda devices', c.get_cuda_device_count(), sorted(c.get_supported_compute_types('cuda')))"
    ;;
  smoke)
    environment
    model
    python3 - <<'PY'
import time
import ctranslate2
import numpy as np
started = time.perf_counter()
whisper = ctranslate2.models.Whisper("models/whisper-base", device="cuda", compute_type="float16")
print(f"loaded in {time.perf_counter() - started:.1f}s")
features = ctranslate2.StorageView.from_array(np.zeros((4, 80, 3000), np.float32))
encoded = whisper.encode(features, to_cpu=True)
print("encoded", np.asarray(encoded).shape, np.asarray(encoded).dtype)
again = ctranslate2.StorageView.from_array(np.asarray(encoded).astype(np.float32))
result = whisper.generate(again, [[50258, 50263, 50359, 50363]] * 4, max_length=20)
print("decoded", [r.sequences_ids[0][:5] for r in result])
PY
    ;;
  bench)
    environment
    model
    python3 -m bench.throughput --episode .gpu4/episode.ogg .gpu4/episode.tsv
    ;;
  tests)
    environment
    model
    # No Chromium or Festival there: the page tests are left out, Festival's skip themselves.
    SUBPIPE_TEST_DEVICE=auto python3 -m pytest -q -p no:cacheprovider \
      --ignore tests/test_browser_vtt.py --ignore tests/test_qa_page.py
    # A season of two: the sample and the 1-hour episode, both in flight at once.
    season=$(mktemp -d)
    cp audio_samples/sample.ogg "$season/ep01.ogg"
    cp audio_samples/sample.ru-en.txt "$season/ep01.txt"
    cp .gpu4/episode.ogg "$season/ep02.ogg"
    cp .gpu4/episode.tsv "$season/ep02.tsv"
    python3 -m pipeline.cli batch "$season" "$season/out" --no-progress
    ;;
  *) echo "usage: $0 prepare|probe|smoke|bench|tests" >&2; exit 2 ;;
esac
