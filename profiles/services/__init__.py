"""Writes for profiles and photos, by job: ``profiles`` (the profile rows), ``photos`` (records → verified images
→ rows, the ingest half of the data flow) and ``imports`` (import jobs that run it)."""
