"""Whisper: the model files, the engine that runs it, the kept encodings, cross-attention and the ASR."""
