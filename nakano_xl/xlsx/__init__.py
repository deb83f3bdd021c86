"""Our thin Excel layer: A1 helpers, a guarded streaming reader, atomic writes."""
