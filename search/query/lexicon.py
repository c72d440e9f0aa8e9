"""The few words the query parser reads itself, per language: seasons and the words marking a place, a profile, a date,
a range, a media type or text in the image (dateparser has the rest). Every entry is folded (no accents, lower case).
"""

from __future__ import annotations

# The languages whose month names and relative phrases dateparser reads for us (its locale codes).
DATE_LANGUAGES = ("en", "fr", "es", "de", "it", "pt")

# Words that put a place after them. Not "de" ("tour de france") nor "of" ("the fall of rome"): a name's complement,
# not where the photo was taken. Not the bare "a" either: the English article ("a paris street").
PLACE_WORDS = {
    "en": ("in", "at", "near", "around", "from", "to"),
    "fr": ("à", "en", "au", "aux", "dans", "vers", "depuis"),
    "es": ("en", "cerca de", "desde"),
    "de": ("in", "bei", "aus"),
    "it": ("in", "presso"),
    "pt": ("em", "perto de"),
}
# Articles a place may carry after its connecting word ("in the netherlands", "à la réunion").
PLACE_ARTICLES = ("the", "la", "le", "les", "l'", "el", "los", "die", "der", "den")

# Words that put a profile after them ("from natgeo", "par @natgeo"); "from" and "de" only when a profile has that name.
PROFILE_WORDS = {
    "en": ("from", "by"),
    "fr": ("de", "par", "du compte"),
    "es": ("de", "por"),
    "de": ("von",),
    "it": ("di", "da"),
    "pt": ("de", "por"),
}
# Words that put a person (@handle, or a person's name) after them; the @handle alone is read the same.
PERSON_WORDS = {"en": ("with",), "fr": ("avec",), "es": ("con",), "de": ("mit",), "it": ("con",), "pt": ("com",)}
# Words that ask for photos of a person ("photos of maria"): a bare name only counts after these or PERSON_WORDS.
PERSON_PHOTO_WORDS = {
    "en": ("photos of", "photo of", "pictures of", "picture of", "pics of", "pic of", "images of", "selfies of"),
    "fr": ("photos de", "photo de", "images de"),
    "es": ("fotos de", "foto de", "imagenes de"),
    "de": ("fotos von", "bilder von", "foto von"),
    "it": ("foto di", "immagini di"),
    "pt": ("fotos de", "foto de", "imagens de"),
}
# Joining persons ("maria and joao", "@maria et @joao"): each side a person, or "me" before it ("me and @joao").
AND_WORDS = ("and", "&", "et", "y", "e", "und")
ME_WORDS = ("me", "moi", "yo", "ich", "io", "eu", "mich", "mi")

# Words that put a date after them ("in june", "en juin", "since 2019").
DATE_WORDS = {
    "en": ("in", "on", "during", "from", "of"),
    "fr": ("en", "au", "à", "pendant", "le", "de", "du", "durant"),
    "es": ("en", "durante", "de"),
    "de": ("im", "in", "am", "von"),
    "it": ("in", "nel", "durante", "di"),
    "pt": ("em", "no", "durante", "de"),
}
# An open range up to today ("since 2019", "depuis juin 2020").
SINCE_WORDS = ("since", "depuis", "desde", "seit", "dal", "dalla")
# Ranges: (opening word or "" when none, joining word) — "between may and july 2021", "de 2018 à 2020", "2018 to 2020".
RANGE_WORDS = {
    "en": (("between", "and"), ("from", "to"), ("from", "till"), ("from", "until"), ("", "to")),
    "fr": (("entre", "et"), ("de", "à"), ("du", "au"), ("de", "a")),
    "es": (("entre", "y"), ("de", "a"), ("desde", "hasta")),
    "de": (("zwischen", "und"), ("von", "bis")),
    "it": (("tra", "e"), ("fra", "e"), ("da", "a"), ("dal", "al")),
    "pt": (("entre", "e"), ("de", "a"), ("desde", "ate")),
}

# Seasons: folded name → season, per language ("fall" is English's autumn).
SEASONS = {
    "en": {"spring": "spring", "summer": "summer", "autumn": "autumn", "fall": "autumn", "winter": "winter"},
    "fr": {"printemps": "spring", "ete": "summer", "automne": "autumn", "hiver": "winter"},
    "es": {"primavera": "spring", "verano": "summer", "otono": "autumn", "invierno": "winter"},
    "de": {"fruhling": "spring", "sommer": "summer", "herbst": "autumn", "winter": "winter"},
    "it": {"primavera": "spring", "estate": "summer", "autunno": "autumn", "inverno": "winter"},
    "pt": {"primavera": "spring", "verao": "summer", "outono": "autumn", "inverno": "winter"},
}
# Before a season or a month: "last summer", "this winter", "cet été", "ce printemps"; after it: "l'été dernier",
# "juin dernier". "last" is the latest one that has ended, "this" the latest one that has begun.
LAST_BEFORE = ("last", "letzten", "letzter", "letztes", "pasado")
LAST_AFTER = ("dernier", "derniere", "passe", "passee", "pasado", "pasada", "scorso", "scorsa", "passado", "passada")
THIS_BEFORE = ("this", "ce", "cet", "cette", "este", "esta", "diesen", "dieser", "dieses", "questo", "questa")
# Articles a season or a month may carry ("in the summer of 2019", "l'été 2019", "le printemps dernier").
SEASON_ARTICLES = ("the", "l'", "le", "el", "la", "o", "a", "der", "den", "im")
# "summer of 2019", "l'été de 2019".
OF_WORDS = ("of", "de", "del", "do", "da", "di")

# Words that ask for a media type (folded: "vidéos" reads "videos"); "photos" is said of everything, so stays a word.
MEDIA_WORDS = {"video": "video", "videos": "video", "reel": "video", "reels": "video", "clips": "video"}
# Phrases that ask for text in the image. "screenshots" is not one: the look is what CLIP finds, and a screenshot of
# a map or a game holds no text the OCR read.
TEXT_PHRASES = ("with text", "avec du texte", "avec texte", "con texto", "mit text", "com texto", "con testo")

# After a year: an article reads as a title ("1984 the novel", "2001 a space odyssey"), not a date.
TITLE_ARTICLES = ("the", "a", "an", "le", "la", "les", "l'", "un", "une", "el", "der", "die", "das")
