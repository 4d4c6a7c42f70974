"""Venue wire formats: decoders, parsers, golden frames, codec fuzzing, REST signing, instruments
(liqcore.venues)."""
