"""Pure parsers: text (or bytes) in, values out; no I/O."""
