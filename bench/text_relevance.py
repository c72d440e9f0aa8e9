"""The text-relevance labelled set (issue 14, "the words channel answers descriptions"): photos whose own words look
like real Instagram / Flickr posts, and queries that are *descriptions* sharing only some words with them.

Every photo is a small latent scene — ``facts``: topic (beach, street, food…), place, time of day, who is in it and
one rare detail ("ceviche", "lifeguard", a dog called "Pipoca") — rendered, by templates and vocabularies drawn with
a seeded RNG, into what a post carries: a caption of realistic length with emoji, @mentions and a run of compound
hashtags (``#southbeach #beachfun #mygirl #sunsetlovers #travelgram``), and often an alt text in Instagram's style
("Photo by Ana Costa on June 3, 2021. May be an image of 2 people, beach and ocean."). Captions are English mostly,
then Portuguese and French, and some mixed. Queries are rendered from a subset of the same facts, and a query's
relevant photos are **every photo whose facts include the query's facts** (not only the one it was made from), so
"girl at the beach in miami" is answered by any such photo.

Query kinds (``KINDS``), so the effect of each part of a ranking change shows on its own:

- ``partial``: an English description sharing some but not all of its words with the photo's words
  ("girl on the beach in miami at night" for "Miami lights and she is the brightest one ✨ #mygirl");
- ``hashtag``: a description using a word found only inside one of the photo's compound hashtags ("south beach"
  for ``#southbeach``);
- ``rare_noise``: one rare word of the caption plus two or three true words that are not in it
  ("ceviche with friends at night");
- ``french`` / ``portuguese``: descriptions in the caption's language with other inflections than the caption's
  ("plages de lisbonne" for a caption with "plage");
- ``all_words``: the control — every word of the query is among the photo's words, so AND semantics find it.

The set goes to ``bench.evaluate`` as an ordinary ``LabelledSet``: each photo is a ``SourceRecord`` with
``text``, ``hashtags`` and ``alt_text`` (hashtags as an Instagram import finds them in the caption), so whatever the
ingest services do to a post's words (hashtag splitting, language detection) applies to it. Images are generated
coloured shapes with no relation to the words: with the tests' tiny random model the vector channel is noise, so the
``hybrid`` figures mostly show whether words help.
"""

from __future__ import annotations

import contextlib
import random
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.evaluate_synthetic import COLOURS, SHAPES, ShapeSpec, shape_image
from bench.labelled import LabelledSet
from profiles.sources.base import SourceRecord, hashtags_in

DEFAULT_COUNT = 400
DEFAULT_SEED = 14
IMAGE_SIZE = 64

PARTIAL, HASHTAG, RARE_NOISE, FRENCH, PORTUGUESE, ALL_WORDS = (
    "partial",
    "hashtag",
    "rare_noise",
    "french",
    "portuguese",
    "all_words",
)
KINDS = (PARTIAL, HASHTAG, RARE_NOISE, FRENCH, PORTUGUESE, ALL_WORDS)
KIND_LABELS = {
    PARTIAL: "partial description",
    HASHTAG: "word only in a compound hashtag",
    RARE_NOISE: "rare word + other words",
    FRENCH: "French description",
    PORTUGUESE: "Portuguese description",
    ALL_WORDS: "all-words control",
}
NOTE = (
    "Images are generated shapes unrelated to the words; with a tiny random model the vector channel is noise, so "
    "hybrid figures mostly show whether words help."
)

LANGUAGES = (("en", 0.66), ("pt", 0.13), ("fr", 0.13), ("mixed", 0.08))

# --- Vocabulary -----------------------------------------------------------------------------------------------------
# Per fact value: "cap_<lang>": what a caption says for it; "q_en": English description words for queries;
# "q_fr" / "q_pt": the query's forms in that language (other inflections than the captions', where they exist).

TOPICS: dict[str, dict] = {
    "beach": dict(
        cap_en=["beach day", "by the sea", "ocean vibes", "sand between my toes", "beach"],
        q_en=["on the beach", "at the beach", "by the ocean"],
        cap_fr=["à la plage", "journée plage", "la mer"],
        q_fr=["plages", "bord de mer"],
        cap_pt=["dia de praia", "praia", "o mar"],
        q_pt=["praias", "na praia"],
        details=["seashells", "lifeguard", "surfboard", "coconut", "sandcastle", "parasol"],
        tags=["beachfun", "beachlife", "beachvibes", "oceanlover", "saltyhair"],
        alt=["beach and ocean", "sand, ocean and sky"],
    ),
    "street": dict(
        cap_en=["city walk", "downtown", "wandering the streets", "street strolls"],
        q_en=["walking down a street", "on a city street", "people walking in the street"],
        cap_fr=["balade en ville", "dans la rue"],
        q_fr=["rues", "balades"],
        cap_pt=["passeio pela cidade", "na rua"],
        q_pt=["ruas", "passeios"],
        details=["neon", "tram", "graffiti", "lanterns", "crosswalk", "scooter"],
        tags=["streetphotography", "citylights", "urbanexplorer", "streetstyle"],
        alt=["street and road", "road and building"],
    ),
    "food": dict(
        cap_en=["dinner", "food coma", "dinner date", "date night eats"],
        q_en=["having dinner", "eating out", "restaurant meal"],
        cap_fr=["dîner", "resto du soir"],
        q_fr=["dîners", "restos"],
        cap_pt=["jantar", "comida boa"],
        q_pt=["jantares", "comidas"],
        details=["ceviche", "ramen", "tacos", "paella", "sushi", "dumplings", "risotto"],
        tags=["foodporn", "instafood", "foodlover", "dinnertime"],
        alt=["food", "food and table"],
    ),
    "coffee": dict(
        cap_en=["coffee break", "coffee", "caffeine fix"],
        q_en=["drinking coffee", "coffee shop", "cup of coffee"],
        cap_fr=["pause café", "café"],
        q_fr=["cafés", "petit déjeuner"],
        cap_pt=["cafezinho", "café"],
        q_pt=["cafés", "cafeteria"],
        details=["cappuccino", "croissant", "espresso", "matcha", "cinnamon", "macarons"],
        tags=["coffeetime", "coffeelover", "butfirstcoffee", "coffeeaddict"],
        alt=["coffee cup and indoor", "drink"],
    ),
    "hiking": dict(
        cap_en=["hike", "trail day", "mountains", "hiking"],
        q_en=["hiking in the mountains", "mountain hike", "hikers on a trail"],
        cap_fr=["randonnée", "montagne"],
        q_fr=["randonnées", "montagnes"],
        cap_pt=["trilha", "montanha"],
        q_pt=["trilhas", "montanhas"],
        details=["summit", "waterfall", "glacier", "canyon", "ridge"],
        tags=["hikingadventures", "mountainlife", "naturelovers", "getoutside"],
        alt=["mountain, nature and sky"],
    ),
    "wedding": dict(
        cap_en=["wedding", "the big day", "the wedding"],
        q_en=["wedding ceremony", "bride and groom", "wedding party"],
        cap_fr=["mariage"],
        q_fr=["mariages", "mariés"],
        cap_pt=["casamento"],
        q_pt=["casamentos", "noivos"],
        details=["bouquet", "veil", "champagne", "vows", "tuxedo"],
        tags=["weddingday", "justmarried", "weddingvibes", "bridetobe"],
        alt=["people standing, people smiling and wedding"],
    ),
    "dog": dict(
        cap_en=["walkies", "dog", "good boy"],
        q_en=["dog walk", "puppy playing", "with a dog"],
        cap_fr=["chien", "toutou"],
        q_fr=["chiens", "chiots"],
        cap_pt=["cachorro", "cãozinho"],
        q_pt=["cachorros", "cães"],
        details=["frisbee", "Bruno", "Luna", "Pipoca", "leash", "Biscuit"],
        tags=["doglife", "dogsofinstagram", "puppylove", "dogmom"],
        alt=["dog", "dog and grass"],
    ),
    "concert": dict(
        cap_en=["concert", "show", "live music"],
        q_en=["at a concert", "live music gig", "crowd at a show"],
        cap_fr=["concert"],
        q_fr=["concerts", "festivals"],
        cap_pt=["show"],
        q_pt=["shows", "festivais"],
        details=["confetti", "encore", "fireworks", "moshpit", "setlist"],
        tags=["livemusic", "concertvibes", "partytime", "festivalseason"],
        alt=["crowd, stage and concert"],
    ),
    "running": dict(
        cap_en=["run", "race day", "running"],
        q_en=["runner on a race", "jogging outside", "running a race"],
        cap_fr=["course", "footing"],
        q_fr=["courses", "courir"],
        cap_pt=["corrida"],
        q_pt=["corridas", "correr"],
        details=["marathon", "sneakers", "medal", "stopwatch", "relay"],
        tags=["runnersofinstagram", "runningcommunity", "marathontraining", "fitfam"],
        alt=["1 person, running and outdoors"],
    ),
    "snow": dict(
        cap_en=["snow day", "slopes", "skiing"],
        q_en=["skiing in the snow", "ski trip", "snowy mountains"],
        cap_fr=["neige", "ski"],
        q_fr=["skier", "skis", "neige fraîche"],
        cap_pt=["neve", "esqui"],
        q_pt=["esquiar", "esquis", "neve fresca"],
        details=["chalet", "gondola", "snowboard", "fondue", "icicles"],
        tags=["skiseason", "snowday", "winterwonderland", "powderday"],
        alt=["snow, mountain and outdoors"],
    ),
    "market": dict(
        cap_en=["market", "farmers market", "shopping"],
        q_en=["market stalls", "shopping at a market", "street market"],
        cap_fr=["marché"],
        q_fr=["marchés", "brocantes"],
        cap_pt=["feira", "mercado"],
        q_pt=["feiras", "mercados"],
        details=["vinyl", "antiques", "peaches", "ceramics", "tulips"],
        tags=["marketday", "shoplocal", "vintagefinds", "farmersmarket"],
        alt=["fruit, market and outdoors"],
    ),
    "birthday": dict(
        cap_en=["birthday", "bday", "party"],
        q_en=["birthday party", "celebrating a birthday", "party celebration"],
        cap_fr=["anniversaire", "fête"],
        q_fr=["anniversaires", "fêtes"],
        cap_pt=["aniversário", "festa"],
        q_pt=["aniversários", "festas"],
        details=["cupcakes", "candles", "balloons", "piñata", "sparklers"],
        tags=["birthdaygirl", "birthdayparty", "bdayvibes"],
        alt=["people smiling, cake and indoor"],
    ),
}

# langs: captions in which languages happen there; tags: compound hashtag → facts it also needs (beyond the place).
PLACES: dict[str, dict] = {
    "miami": dict(
        en="Miami",
        fr="Miami",
        pt="Miami",
        langs="en pt mixed",
        tags={
            "southbeach": {"topic": "beach"},
            "miamibeach": {"topic": "beach"},
            "miaminights": {"time": "night"},
            "miamilife": {},
        },
    ),
    "new york": dict(
        en="New York",
        fr="New York",
        pt="Nova York",
        langs="en mixed",
        tags={"newyorkcity": {}, "brooklynbridge": {}, "nycstreets": {"topic": "street"}},
    ),
    "london": dict(
        en="London", fr="Londres", pt="Londres", langs="en fr", tags={"londonlife": {}, "londoncalling": {}}
    ),
    "lisbon": dict(
        en="Lisbon",
        fr="Lisbonne",
        pt="Lisboa",
        langs="en pt fr mixed",
        tags={"lisbonlovers": {}, "visitlisbon": {}, "lisboaantiga": {}},
    ),
    "porto": dict(en="Porto", fr="Porto", pt="Porto", langs="pt en", tags={"portolovers": {}, "ribeiraporto": {}}),
    "rio": dict(
        en="Rio",
        fr="Rio",
        pt="Rio",
        langs="pt en mixed",
        tags={"copacabana": {"topic": "beach"}, "riodejaneiro": {}, "cidademaravilhosa": {}},
    ),
    "paris": dict(
        en="Paris",
        fr="Paris",
        pt="Paris",
        langs="fr en mixed",
        tags={"parisbynight": {"time": "night"}, "toureiffel": {}, "parisjetaime": {}},
    ),
    "marseille": dict(
        en="Marseille", fr="Marseille", pt="Marselha", langs="fr", tags={"vieuxport": {}, "marseillemaville": {}}
    ),
    "montreal": dict(
        en="Montreal", fr="Montréal", pt="Montreal", langs="fr en", tags={"montrealcity": {}, "mtlmoments": {}}
    ),
    "barcelona": dict(
        en="Barcelona",
        fr="Barcelone",
        pt="Barcelona",
        langs="en pt fr",
        tags={"barcelonabeach": {"topic": "beach"}, "barcelonacity": {}},
    ),
    "tokyo": dict(
        en="Tokyo",
        fr="Tokyo",
        pt="Tóquio",
        langs="en",
        tags={"tokyonights": {"time": "night"}, "tokyostreets": {"topic": "street"}},
    ),
    "los angeles": dict(
        en="Los Angeles",
        fr="Los Angeles",
        pt="Los Angeles",
        langs="en",
        tags={"venicebeach": {"topic": "beach"}, "losangeles": {}},
    ),
}

TIMES: dict[str, dict] = {
    "morning": dict(
        cap_en=["this morning", "early start", "sunrise crew"],
        q_en=["in the morning", "early morning"],
        cap_fr=["ce matin"],
        q_fr=["le matin", "matinée"],
        cap_pt=["de manhã"],
        q_pt=["manhãs", "manhã"],
        tags=["morningvibes", "riseandshine"],
    ),
    "afternoon": dict(
        cap_en=["this afternoon", "lazy afternoon", "sunday afternoon"],
        q_en=["in the afternoon"],
        cap_fr=["cet après-midi"],
        q_fr=["après-midis"],
        cap_pt=["à tarde"],
        q_pt=["tardes"],
        tags=["sundayfunday", "weekendvibes"],
    ),
    "sunset": dict(
        cap_en=["golden hour", "sunset", "sunsets like this"],
        q_en=["at sunset", "sunset"],
        cap_fr=["coucher de soleil"],
        q_fr=["couchers de soleil"],
        cap_pt=["pôr do sol"],
        q_pt=["ao pôr do sol", "fim de tarde"],
        tags=["sunsetlovers", "goldenhour", "sunsetvibes"],
    ),
    "night": dict(
        cap_en=["tonight", "late night", "nights like this", "night out"],
        q_en=["at night", "night"],
        cap_fr=["ce soir", "soirée"],
        q_fr=["soirées", "la nuit"],
        cap_pt=["hoje à noite", "noitada"],
        q_pt=["noites", "à noite"],
        tags=["nightlights", "nightout"],
    ),
}

PEOPLE: dict[str, dict] = {
    "girl": dict(
        cap_en=["my girl", "this one", "wifey"],
        q_en=["girl", "young woman"],
        cap_fr=["ma copine", "ma chérie"],
        q_fr=["copines", "jeune femme"],
        cap_pt=["minha gata", "minha namorada"],
        q_pt=["namoradas", "menina"],
        tags=["mygirl", "girlpower"],
        alt="1 person",
    ),
    "friends": dict(
        cap_en=["the crew", "my besties", "the squad"],
        q_en=["friends", "group of friends"],
        cap_fr=["les copains", "les amis"],
        q_fr=["entre amies", "avec des amis"],
        cap_pt=["a galera", "os amigos"],
        q_pt=["com as amigas", "amigas"],
        tags=["bestfriends", "squadgoals"],
        alt="3 people",
    ),
    "couple": dict(
        cap_en=["my love", "us two", "bae"],
        q_en=["couple", "romantic couple"],
        cap_fr=["mon amour"],
        q_fr=["en amoureux", "couple"],
        cap_pt=["meu amor"],
        q_pt=["casal", "namorados"],
        tags=["couplegoals", "lovebirds"],
        alt="2 people",
    ),
    "family": dict(
        cap_en=["the fam", "the kids", "family"],
        q_en=["family", "family with kids"],
        cap_fr=["la famille"],
        q_fr=["en famille", "enfants"],
        cap_pt=["a família"],
        q_pt=["em família", "crianças"],
        tags=["familytime", "familyfirst"],
        alt="4 people and child",
    ),
    "solo": dict(
        cap_en=["me, myself and I", "solo trip"],
        q_en=["alone", "on my own"],
        cap_fr=["moi toute seule"],
        q_fr=["seule", "en solo"],
        cap_pt=["sozinha"],
        q_pt=["sozinho", "só eu"],
        tags=["solotravel", "metime"],
        alt="1 person",
    ),
}

# Compound hashtags → their words, for the queries that use them split.
SPLITS: dict[str, str] = {
    "southbeach": "south beach",
    "miamibeach": "miami beach",
    "miaminights": "miami nights",
    "miamilife": "miami life",
    "newyorkcity": "new york city",
    "brooklynbridge": "brooklyn bridge",
    "nycstreets": "nyc streets",
    "londonlife": "london life",
    "londoncalling": "london calling",
    "lisbonlovers": "lisbon lovers",
    "visitlisbon": "visit lisbon",
    "portolovers": "porto lovers",
    "riodejaneiro": "rio de janeiro",
    "parisbynight": "paris by night",
    "toureiffel": "tour eiffel",
    "vieuxport": "vieux port",
    "montrealcity": "montreal city",
    "barcelonabeach": "barcelona beach",
    "barcelonacity": "barcelona city",
    "tokyonights": "tokyo nights",
    "tokyostreets": "tokyo streets",
    "venicebeach": "venice beach",
    "beachfun": "beach fun",
    "beachlife": "beach life",
    "beachvibes": "beach vibes",
    "oceanlover": "ocean lover",
    "saltyhair": "salty hair",
    "streetphotography": "street photography",
    "citylights": "city lights",
    "urbanexplorer": "urban explorer",
    "streetstyle": "street style",
    "foodlover": "food lover",
    "dinnertime": "dinner time",
    "coffeetime": "coffee time",
    "coffeelover": "coffee lover",
    "butfirstcoffee": "but first coffee",
    "hikingadventures": "hiking adventures",
    "mountainlife": "mountain life",
    "naturelovers": "nature lovers",
    "getoutside": "get outside",
    "weddingday": "wedding day",
    "justmarried": "just married",
    "bridetobe": "bride to be",
    "doglife": "dog life",
    "puppylove": "puppy love",
    "dogmom": "dog mom",
    "livemusic": "live music",
    "partytime": "party time",
    "festivalseason": "festival season",
    "runningcommunity": "running community",
    "marathontraining": "marathon training",
    "skiseason": "ski season",
    "snowday": "snow day",
    "winterwonderland": "winter wonderland",
    "powderday": "powder day",
    "marketday": "market day",
    "shoplocal": "shop local",
    "vintagefinds": "vintage finds",
    "farmersmarket": "farmers market",
    "birthdaygirl": "birthday girl",
    "birthdayparty": "birthday party",
    "sunsetlovers": "sunset lovers",
    "goldenhour": "golden hour",
    "sunsetvibes": "sunset vibes",
    "nightlights": "night lights",
    "nightout": "night out",
    "morningvibes": "morning vibes",
    "mygirl": "my girl",
    "bestfriends": "best friends",
    "squadgoals": "squad goals",
    "couplegoals": "couple goals",
    "familytime": "family time",
    "solotravel": "solo travel",
}
GENERIC_TAGS = [
    "travelgram",
    "instagood",
    "photooftheday",
    "wanderlust",
    "instatravel",
    "picoftheday",
    "vscocam",
    "igdaily",
    "explorepage",
    "weekendvibes",
]
EMOJI = ["✨", "😍", "🌊", "🌅", "🌙", "💛", "🙌", "🔥", "☀️", "📸", "🥂", "❤️", "😎", "🤍", "🎉", "🍹"]
HANDLES = [
    "marina.lopes",
    "jules_dlv",
    "thecoastalcrew",
    "ana.costa",
    "mattgoesplaces",
    "chloe.mrt",
    "pedro_rio",
    "lenaaa",
    "nomad.sam",
    "bia.travels",
    "clementine.p",
    "joao.fotos",
]
NAMES = [
    "Ana Costa",
    "Jules Martin",
    "Sam Carter",
    "Chloé Moreau",
    "Pedro Alves",
    "Lena Fischer",
    "Maya Brooks",
    "Beatriz Lima",
    "Tom Hughes",
    "Camille Roux",
]
FILLERS_EN = [
    "Swipe ➡️",
    "Can't wait to go back",
    "Still not over it",
    "No filter needed",
    "Core memory unlocked",
    "Thanks {at} for the pic!",
    "📸 {at}",
    "Who else misses summer?",
    "10/10 would do again",
    "Tag someone you'd bring 👇",
]
FILLERS_FR = [
    "Trop hâte d'y retourner",
    "📸 {at}",
    "Merci {at} pour la photo !",
    "Quelle journée…",
    "On recommence quand ?",
    "Sans filtre",
]
FILLERS_PT = ["Saudade já 💛", "📸 {at}", "Valeu {at} pela foto!", "Que dia…", "Bora repetir?", "Sem filtro"]
MIXED_TAILS = [
    "Saudades de {place_pt} 💛",
    "Trop bien {time_fr} ✨",
    "Que {topic_pt} maravilhosa 😍",
    "C'était parfait, {place_fr} ❤️",
]

CAPTIONS_EN = [
    "{place} lights and {people} is the brightest and prettiest one {e}",
    "{time} {topic} in {place} with {people} {e}",
    "Can't get over this {detail} {e} {topic} {time}",
    "{people} + {detail} + {place} = perfect weekend {e}",
    "Missing {place} already... {topic} with {people} was everything {e}",
    "POV: {topic}, {detail} and {time} {e} w/ {at}",
    "Best {detail} in {place}?? I think so {e} {time}",
    "{topic} {e} {detail} {e}",
]
CAPTIONS_FR = [
    "{time} : {topic} à {place} avec {people} {e}",
    "Je ne me remets pas de ce {detail} {e} {topic} {time}",
    "{topic} à {place}, {detail} et {people}, que demander de plus {e}",
    "{place} me manque déjà… {topic} avec {people} {e}",
    "{detail} {e} {topic} {time}",
]
CAPTIONS_PT = [
    "{time}: {topic} em {place} com {people} {e}",
    "Não supero esse {detail} {e} {topic} {time}",
    "{topic} em {place}, {detail} e {people}, perfeito {e}",
    "Já com saudade de {place}… {topic} com {people} {e}",
    "{detail} {e} {topic} {time}",
]
CAPTIONS = {"en": CAPTIONS_EN, "fr": CAPTIONS_FR, "pt": CAPTIONS_PT}
ALT_INTRO = {
    "en": ("Photo by {name} on {date}. May be an image of {what}.", "May be an image of {what}."),
    "fr": ("Photo de {name} le {date}. Peut être une image de {what}.",),
    "pt": ("Foto de {name} em {date}. Pode ser uma imagem de {what}.",),
}
MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "fr": [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ],
    "pt": [
        "janeiro",
        "fevereiro",
        "março",
        "abril",
        "maio",
        "junho",
        "julho",
        "agosto",
        "setembro",
        "outubro",
        "novembro",
        "dezembro",
    ],
}
# Words a description may add that name no fact (for rare_noise when the photo's unsaid facts run out).
NOISE_WORDS = ["cute", "lovely", "amazing", "beautiful", "colorful", "vintage", "cozy"]

# Function words left out when comparing a query's words with a photo's (English, French, Portuguese).
STOPWORDS = frozenset(
    "a an the and or of in on at to with by for from is are was be this that it its my our your me i we us you she "
    "he they them her his de des du la le les un une et à au aux en avec pour sur ce cet cette ma mon mes moi "
    "da do das dos o os as um uma e em no na nos nas com por para pela pelo eu meu minha".split()
)
_WORD = re.compile(r"\w+", re.UNICODE)


# --- The set --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextQuery:
    text: str
    kind: str
    facts: tuple[tuple[str, str], ...]  # the facts it asks for; every photo that has them all is relevant


@dataclass
class TextPhoto:
    source_id: str
    language: str  # en / fr / pt / mixed
    facts: dict[str, str]
    text: str
    hashtags: tuple[str, ...]
    alt_text: str
    shape: ShapeSpec
    queries: list[TextQuery] = field(default_factory=list)

    @property
    def words(self) -> set[str]:
        """The photo's own words as typed (hashtags whole), lower-cased."""
        return words_of(" ".join((self.text, self.alt_text, " ".join(self.hashtags))))


def words_of(text: str) -> set[str]:
    return {word.lower() for word in _WORD.findall(text)}


def content_words(text: str) -> list[str]:
    return [word for word in (w.lower() for w in _WORD.findall(text)) if word not in STOPWORDS]


def stem(word: str) -> str:
    """A crude English stem (enough to tell "streets" from "street" as the same word when checking query kinds)."""
    word = word.lower()
    for suffix in ("ing", "ies", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def shared_words(query: str, photo_words: set[str]) -> tuple[list[str], list[str]]:
    """The query's content words found among the photo's words (same crude stem), and those not found."""
    stems = {stem(word) for word in photo_words}
    found, missing = [], []
    for word in content_words(query):
        (found if word in photo_words or stem(word) in stems else missing).append(word)
    return found, missing


def hashtag_only_words(query: str, photo: TextPhoto) -> list[str]:
    """The query's words that are not among the photo's words but are inside one of its hashtags."""
    _, missing = shared_words(query, photo.words)
    return [word for word in missing if len(word) >= 3 and any(word in tag for tag in photo.hashtags)]


def text_relevance_photos(*, count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED) -> list[TextPhoto]:
    """``count`` photos with their words and queries, the same for the same ``seed`` (the first N photos of a larger
    set are the same N photos)."""
    rng = random.Random(f"text-relevance-{seed}")
    photos = []
    for index in range(count):
        photo = _photo(index, rng)
        photo.queries = _queries(photo, rng)
        photos.append(photo)
    return photos


def text_relevance_queries(photos: list[TextPhoto]) -> tuple[dict[str, set[str]], dict[str, str]]:
    """Every query text → the source ids of all photos whose facts include the query's, and → its kind (the first
    kind a repeated text was made as)."""
    queries: dict[str, set[str]] = {}
    kinds: dict[str, str] = {}
    for photo in photos:
        for query in photo.queries:
            if query.text in kinds:
                continue
            kinds[query.text] = query.kind
            queries[query.text] = {p.source_id for p in photos if all(p.facts.get(k) == v for k, v in query.facts)}
    return queries, kinds


def text_relevance_set_write(*, folder: Path, count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED) -> LabelledSet:
    """Write the images of the set into ``folder`` and return the labelled set (records with text, hashtags and alt
    text; queries with their kinds)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    photos = text_relevance_photos(count=count, seed=seed)
    records = []
    for index, photo in enumerate(photos):
        path = folder / photo.source_id
        shape_image(photo.shape, rng=random.Random(f"image-{seed}-{index}"), size=IMAGE_SIZE).save(path)
        records.append(
            SourceRecord(
                source_id=photo.source_id,
                image_path=path,
                text=photo.text,
                hashtags=photo.hashtags,
                alt_text=photo.alt_text,
                taken_at=datetime(2021, 1, 1, tzinfo=UTC) + timedelta(hours=7 * index),
            )
        )
    queries, kinds = text_relevance_queries(photos)
    return LabelledSet(
        name="text-relevance", format="generated", records=records, queries=queries, kinds=kinds, note=NOTE
    )


@contextlib.contextmanager
def text_relevance_set(*, count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED) -> Iterator[LabelledSet]:
    """The set with its images in a temporary folder, removed on exit."""
    with tempfile.TemporaryDirectory(prefix="text-relevance-") as folder:
        yield text_relevance_set_write(folder=Path(folder), count=count, seed=seed)


# --- Photos ---------------------------------------------------------------------------------------------------------


def _pick_weighted(rng: random.Random, options) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def _photo(index: int, rng: random.Random) -> TextPhoto:
    language = _pick_weighted(rng, LANGUAGES)
    places = [name for name, place in PLACES.items() if language in place["langs"].split()]
    facts = {
        "topic": rng.choice(list(TOPICS)),
        "place": rng.choice(places),
        "time": rng.choice(list(TIMES)),
        "people": rng.choice(list(PEOPLE)),
    }
    facts["detail"] = rng.choice(TOPICS[facts["topic"]]["details"]).lower()
    caption_language = "en" if language == "mixed" else language
    caption = _caption(facts, caption_language, rng)
    if language == "mixed":
        caption += " " + _mixed_tail(facts, rng)
    hashtags = _hashtags(facts, rng)
    text = (
        caption + "\n.\n.\n" + " ".join(f"#{tag}" for tag in hashtags)
        if rng.random() < 0.5
        else caption + " " + " ".join(f"#{tag}" for tag in hashtags)
    )
    alt_text = _alt_text(facts, caption_language, rng) if rng.random() < 0.7 else ""
    shape = ShapeSpec(rng.choice(list(COLOURS)), rng.choice(SHAPES))
    return TextPhoto(
        source_id=f"tr-{index:04}.png",
        language=language,
        facts=facts,
        text=text,
        hashtags=hashtags_in(text),
        alt_text=alt_text,
        shape=shape,
    )


def _caption(facts: dict[str, str], language: str, rng: random.Random) -> str:
    key = f"cap_{language}"
    detail = next(d for d in TOPICS[facts["topic"]]["details"] if d.lower() == facts["detail"])
    slots = {
        "topic": rng.choice(TOPICS[facts["topic"]][key]),
        "place": PLACES[facts["place"]][language],
        "time": rng.choice(TIMES[facts["time"]][key]),
        "people": rng.choice(PEOPLE[facts["people"]][key]),
        "detail": detail,
        "at": "@" + rng.choice(HANDLES),
    }
    template = rng.choice(CAPTIONS[language])
    body = template.format(e=rng.choice(EMOJI), **slots)
    body = body[0].upper() + body[1:]
    fillers = {"en": FILLERS_EN, "fr": FILLERS_FR, "pt": FILLERS_PT}[language]
    extra = [f.format(at="@" + rng.choice(HANDLES)) for f in rng.sample(fillers, rng.choice((0, 1, 1, 2)))]
    return " ".join([body, *extra])


def _mixed_tail(facts: dict[str, str], rng: random.Random) -> str:
    return rng.choice(MIXED_TAILS).format(
        place_pt=PLACES[facts["place"]]["pt"],
        place_fr=PLACES[facts["place"]]["fr"],
        time_fr=rng.choice(TIMES[facts["time"]]["cap_fr"]),
        topic_pt=rng.choice(TOPICS[facts["topic"]]["cap_pt"]),
    )


def _hashtags(facts: dict[str, str], rng: random.Random) -> list[str]:
    """A run of 3–9 hashtags, mostly compounds: the place's (those whose facts hold), the topic's, the time's,
    the people's, and generic ones."""
    place_tags = [
        t for t, needs in PLACES[facts["place"]]["tags"].items() if all(facts.get(k) == v for k, v in needs.items())
    ]
    pools = [
        place_tags,
        TOPICS[facts["topic"]]["tags"],
        TIMES[facts["time"]]["tags"],
        PEOPLE[facts["people"]]["tags"],
        GENERIC_TAGS,
    ]
    tags: list[str] = []
    for pool, most in zip(pools, (2, 2, 1, 1, 3), strict=True):
        tags += rng.sample(pool, rng.randint(0 if pool is GENERIC_TAGS else min(1, len(pool)), min(most, len(pool))))
    if rng.random() < 0.4:
        tags.append(facts["place"].replace(" ", ""))  # #miami, #lisbon
    rng.shuffle(tags)
    return list(dict.fromkeys(tags))


def _alt_text(facts: dict[str, str], language: str, rng: random.Random) -> str:
    language = language if rng.random() < 0.5 else "en"  # Instagram writes alt text in the viewer's language
    what = PEOPLE[facts["people"]]["alt"] + ", " + rng.choice(TOPICS[facts["topic"]]["alt"])
    if language != "en":
        who = re.sub(r"\bpeople\b", "personnes" if language == "fr" else "pessoas", PEOPLE[facts["people"]]["alt"])
        who = re.sub(r"\bperson\b", "personne" if language == "fr" else "pessoa", who)
        who = who.replace(" and child", " et enfant" if language == "fr" else " e criança")
        what = who + (" et plein air" if language == "fr" else " e ao ar livre")
    day, month, year = rng.randint(1, 28), rng.randrange(12), rng.choice((2019, 2020, 2021, 2022, 2023))
    date = (
        f"{MONTHS['en'][month]} {day}, {year}"
        if language == "en"
        else f"{day} {MONTHS[language][month]} {year}"
        if language == "fr"
        else f"{day} de {MONTHS[language][month]} de {year}"
    )
    return rng.choice(ALT_INTRO[language]).format(name=rng.choice(NAMES), date=date, what=what)


# --- Queries --------------------------------------------------------------------------------------------------------


def _queries(photo: TextPhoto, rng: random.Random) -> list[TextQuery]:
    queries: list[TextQuery] = []
    if photo.language in ("en", "mixed"):
        plan = [PARTIAL, _pick_weighted(rng, ((HASHTAG, 3), (RARE_NOISE, 3), (ALL_WORDS, 2), (PARTIAL, 1)))]
    else:
        own = FRENCH if photo.language == "fr" else PORTUGUESE
        plan = [own] + (
            [_pick_weighted(rng, ((own, 1), (HASHTAG, 1), (RARE_NOISE, 1), (ALL_WORDS, 1)))]
            if rng.random() < 0.6
            else []
        )
    makers = {
        PARTIAL: _partial,
        HASHTAG: _hashtag_query,
        RARE_NOISE: _rare_noise,
        FRENCH: _foreign,
        PORTUGUESE: _foreign,
        ALL_WORDS: _all_words,
    }
    for kind in plan:
        for _ in range(12):  # a few draws; a kind this photo cannot give is left out
            query = makers[kind](photo, rng, kind)
            if query is not None and query.text not in {q.text for q in queries}:
                queries.append(query)
                break
    return queries


def _facts(photo: TextPhoto, keys) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((key, photo.facts[key]) for key in keys))


def _describe(photo: TextPhoto, keys, rng: random.Random) -> str:
    """English description of the facts ``keys``: who, what, detail, where, when."""
    parts = []
    if "people" in keys:
        parts.append(rng.choice(PEOPLE[photo.facts["people"]]["q_en"]))
    if "topic" in keys:
        parts.append(rng.choice(TOPICS[photo.facts["topic"]]["q_en"]))
    if "detail" in keys:
        parts.append(("with " if parts else "") + photo.facts["detail"])
    if "place" in keys:
        parts.append(("in " if parts else "") + photo.facts["place"])
    if "time" in keys:
        parts.append(rng.choice(TIMES[photo.facts["time"]]["q_en"]))
    return " ".join(parts)


def _partial(photo: TextPhoto, rng: random.Random, kind: str) -> TextQuery | None:
    keys = rng.sample(["people", "topic", "place", "time", "detail"], rng.choice((2, 3, 3, 4)))
    text = _describe(photo, keys, rng)
    if "brightest" in photo.words and rng.random() < 0.5:  # "brightest miami girl"
        text = "brightest " + text
    found, missing = shared_words(text, photo.words)
    if not found or not missing or len(found) + len(missing) < 3:
        return None
    return TextQuery(text, kind, _facts(photo, keys))


def _hashtag_query(photo: TextPhoto, rng: random.Random, kind: str) -> TextQuery | None:
    candidates = [tag for tag in photo.hashtags if tag in SPLITS]
    if not candidates:
        return None
    tag = rng.choice(candidates)
    keys = {
        key
        for key, table in (("topic", TOPICS), ("time", TIMES), ("people", PEOPLE))
        if tag in table[photo.facts[key]]["tags"]
    }
    if tag in PLACES[photo.facts["place"]]["tags"]:
        keys |= {"place", *PLACES[photo.facts["place"]]["tags"][tag]}
    if not keys:
        return None
    extra = rng.choice([k for k in ("place", "topic", "detail", "time") if k not in keys])
    keys.add(extra)
    words = SPLITS[tag]
    text = (
        f"{words} {photo.facts['detail']}"
        if extra == "detail"
        else f"{words} {_describe(photo, [extra], rng)}"
        if extra != "place"
        else f"{words} in {photo.facts['place']}"
    )
    if not hashtag_only_words(text, photo):
        return None
    return TextQuery(text, kind, _facts(photo, keys))


def _rare_noise(photo: TextPhoto, rng: random.Random, kind: str) -> TextQuery | None:
    if photo.facts["detail"] not in words_of(photo.text):  # a rare word of the caption itself
        return None
    words = photo.words
    unsaid = [key for key in ("people", "topic", "time") if not shared_words(_describe(photo, [key], rng), words)[0]]
    keys = rng.sample(unsaid, min(len(unsaid), 2))
    text = _describe(photo, ["detail", *keys], rng)
    fillers = [w for w in NOISE_WORDS if w not in words]
    while len(shared_words(text, words)[1]) < 2 and fillers:
        text = f"{fillers.pop(rng.randrange(len(fillers)))} {text}"
    found, missing = shared_words(text, words)
    if found != [photo.facts["detail"]] or not 2 <= len(missing) <= 4:
        return None
    return TextQuery(text, kind, _facts(photo, ["detail", *keys]))


def _foreign(photo: TextPhoto, rng: random.Random, kind: str) -> TextQuery | None:
    language = "fr" if kind == FRENCH else "pt"
    key = f"q_{language}"
    place = PLACES[photo.facts["place"]][language].lower()
    keys = rng.choice(
        (["topic", "place"], ["topic", "people"], ["time", "place"], ["topic", "time"], ["topic", "people", "place"])
    )
    parts = []
    for fact in keys:
        if fact == "place":
            after_topic = parts and keys.index("place") == 1 and keys[0] == "topic"
            preposition = (
                ("de " if after_topic else "à ") if language == "fr" else "no " if place in ("rio", "porto") else "em "
            )
            parts.append(preposition + place)
        else:
            table = {"topic": TOPICS, "time": TIMES, "people": PEOPLE}[fact]
            parts.append(rng.choice(table[photo.facts[fact]][key]))
    text = " ".join(parts)
    return TextQuery(text, kind, _facts(photo, keys))


def _all_words(photo: TextPhoto, rng: random.Random, kind: str) -> TextQuery | None:
    """Words of the caption itself for two or three facts it states."""
    caption_words = words_of(photo.text)
    stated = []
    for key in ("place", "detail", "topic", "time"):
        if key == "place":
            name = PLACES[photo.facts["place"]][
                "pt" if photo.language == "pt" else "fr" if photo.language == "fr" else "en"
            ]
            if set(content_words(name)) <= caption_words:
                stated.append((key, name.lower()))
        elif key == "detail":
            if photo.facts["detail"] in caption_words:
                stated.append((key, photo.facts["detail"]))
        else:
            table = TOPICS if key == "topic" else TIMES
            lang = "en" if photo.language == "mixed" else photo.language
            said = [
                form
                for form in table[photo.facts[key]][f"cap_{lang}"]
                if content_words(form) and set(content_words(form)) <= caption_words
            ]
            if said:
                stated.append((key, " ".join(w for w in content_words(said[0]) if w != "like")))
    if len(stated) < 2:
        return None
    chosen = rng.sample(stated, rng.choice((2, 3)) if len(stated) >= 3 else 2)
    text = " ".join(words for _, words in chosen)
    if shared_words(text, caption_words)[1]:
        return None
    return TextQuery(text, kind, _facts(photo, [key for key, _ in chosen]))
