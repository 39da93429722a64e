"""Getting MIDI into the catalog: reading sources safely, and the demo corpus."""
