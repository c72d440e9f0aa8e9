"""Writes for search, by job: ``embedding`` (thumbnails → model → vectors and captions), ``words_read`` (words in
the image, OCR), ``index_builds`` (the search indexes themselves and their upkeep)."""
