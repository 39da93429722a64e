"""Music language models for "make me a song" (pure Python + torch + MidiTok; no Django).

``tokenizer`` (REMI via MidiTok), ``model`` (Transformer decoder / LSTM), ``train`` (fit with early
stopping, self-describing checkpoints), ``sample`` (constrained sampling), ``pianoroll`` (the
classic JSB / Nottingham frame-level benchmark), ``stats`` (simple musical statistics).
"""
