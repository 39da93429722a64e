"""Small MIDI files built in memory with pretty_midi, for the catalog tests."""

import io
import zipfile

import pretty_midi


def midi_bytes(
    *,
    notes: int = 16,
    seconds_per_note: float = 0.25,
    program: int = 0,
    pitch: int = 60,
    tempo: float = 120.0,
    key: str | None = None,
    drums: bool = False,
    seed: int = 0,
) -> bytes:
    """A one-track piece of ``notes`` notes walking up a C major scale (offset by ``seed``)."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    instrument = pretty_midi.Instrument(program=program, is_drum=False)
    scale = [0, 2, 4, 5, 7, 9, 11, 12]
    for i in range(notes):
        start = i * seconds_per_note
        step = scale[(i + seed) % len(scale)]
        instrument.notes.append(
            pretty_midi.Note(
                velocity=90, pitch=pitch + step, start=start, end=start + seconds_per_note * 0.9
            )
        )
    midi.instruments.append(instrument)
    if drums:
        kit = pretty_midi.Instrument(program=0, is_drum=True)
        for i in range(notes):
            kit.notes.append(
                pretty_midi.Note(
                    velocity=80,
                    pitch=36,
                    start=i * seconds_per_note,
                    end=i * seconds_per_note + 0.1,
                )
            )
        midi.instruments.append(kit)
    if key:
        midi.key_signature_changes.append(
            pretty_midi.KeySignature(pretty_midi.key_name_to_key_number(key), 0)
        )
    midi.time_signature_changes.append(pretty_midi.TimeSignature(3, 4, 0))
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


def empty_midi_bytes() -> bytes:
    midi = pretty_midi.PrettyMIDI()
    midi.instruments.append(pretty_midi.Instrument(program=0))
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()
