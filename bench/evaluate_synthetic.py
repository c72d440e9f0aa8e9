"""A labelled set that needs no download — coloured shapes ("a red circle") with matching queries — and a tiny
open_clip model fitted to it in seconds on a CPU, so ``manage.py evaluate`` can be exercised end to end offline
with a vector channel that carries real signal.

The set is written in evaluate's ``folder`` format: ``NAME.png``, its query lines in ``NAME.queries.txt`` and, for
some photos, words of their own in ``NAME.txt`` (as an Instagram caption would be), so the text channel finds some
photos exactly and the vector channel finds all of them approximately. Nothing in the model is told about the
evaluation images: it is trained on other random renderings of the same vocabulary.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 35, 35),
    "green": (40, 165, 60),
    "blue": (35, 70, 215),
    "yellow": (240, 215, 40),
    "purple": (135, 45, 170),
    "orange": (245, 135, 25),
    "white": (245, 245, 245),
    "black": (20, 20, 20),
}
SHAPES = ("circle", "square", "triangle", "star")
IMAGE_SIZE = 160
TEMPLATES = (
    "a {colour} {shape}",
    "a photo of a {colour} {shape}",
    "{colour} {shape}",
    "the {colour} {shape}",
    "a {shape} in {colour}",
    "a {colour} {shape} on grey",
)
# Words of their own for photos that have some but do not describe the shape (a post about something else).
OFF_TOPIC_TEXTS = ("Sunday afternoon", "new sketch", "work in progress", "trying something new", "for the gallery")


@dataclass(frozen=True)
class ShapeSpec:
    colour: str
    shape: str

    @property
    def query(self) -> str:
        return f"a {self.colour} {self.shape}"


def shape_image(spec: ShapeSpec, *, rng: random.Random, size: int = IMAGE_SIZE) -> Image.Image:
    """One rendering of ``spec``: the shape at a random place and size on a random grey, colours jittered a little."""
    grey = rng.randrange(95, 165)
    image = Image.new("RGB", (size, size), (grey, grey, grey))
    draw = ImageDraw.Draw(image)
    extent = rng.uniform(0.45, 0.8) * size
    cx = rng.uniform(extent / 2, size - extent / 2)
    cy = rng.uniform(extent / 2, size - extent / 2)
    colour = tuple(max(0, min(255, c + rng.randrange(-18, 19))) for c in COLOURS[spec.colour])
    half = extent / 2
    if spec.shape == "circle":
        draw.ellipse((cx - half, cy - half, cx + half, cy + half), fill=colour)
    elif spec.shape == "square":
        half *= 0.85
        draw.rectangle((cx - half, cy - half, cx + half, cy + half), fill=colour)
    elif spec.shape == "triangle":
        draw.polygon([(cx, cy - half), (cx + half, cy + half * 0.8), (cx - half, cy + half * 0.8)], fill=colour)
    else:
        import math

        points = []
        for k in range(10):
            radius = half if k % 2 == 0 else half * 0.42
            angle = -math.pi / 2 + k * math.pi / 5
            points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
        draw.polygon(points, fill=colour)
    return image


def synthetic_specs() -> list[ShapeSpec]:
    return [ShapeSpec(colour, shape) for colour in COLOURS for shape in SHAPES]


def synthetic_set_write(*, folder: Path, seed: int = 0, text_share: float = 0.5) -> Path:
    """Write the labelled set (one photo per colour × shape, 32 in all) into ``folder`` in evaluate's folder format.

    A share ``text_share`` of the photos (chosen by ``seed``) has its own words naming its colour and shape; a few
    others have unrelated words; the rest have none.
    """
    rng = random.Random(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    specs = synthetic_specs()
    order = list(range(len(specs)))
    rng.shuffle(order)
    described = set(order[: round(text_share * len(specs))])
    off_topic = set(order[len(described) : len(described) + len(OFF_TOPIC_TEXTS)])
    for index, spec in enumerate(specs):
        name = f"{index:03}-{spec.colour}-{spec.shape}"
        shape_image(spec, rng=rng).save(folder / f"{name}.png")
        (folder / f"{name}.queries.txt").write_text(spec.query + "\n", encoding="utf-8")
        if index in described:
            (folder / f"{name}.txt").write_text(f"My {spec.colour} {spec.shape} #shapes", encoding="utf-8")
        elif index in off_topic:
            (folder / f"{name}.txt").write_text(rng.choice(OFF_TOPIC_TEXTS), encoding="utf-8")
    return folder


def shapes_model_train(
    *, path: Path, model: str = "photosearch-tiny", steps: int = 60, seed: int = 0, variants: int = 8
) -> Path:
    """Fit ``model`` (an open_clip architecture, random init) to random renderings of the shapes vocabulary with
    CLIP's contrastive loss and save its state dict at ``path`` (a ``.pt`` file that
    ``PHOTOSEARCH_CLIP_PRETRAINED=<path>`` loads). About 4 s on one CPU core for ``photosearch-shapes``.

    In that budget the model learns colour reliably and shape hardly at all, so on the synthetic set its vector
    channel puts the right photo among the first four (its colour's) but first only about one time in four: real
    signal, clearly imperfect — which is what an evaluation of fusion needs.
    """
    import open_clip
    import torch

    from search.ml.encoders import MODEL_CONFIG_DIR

    open_clip.add_model_config(MODEL_CONFIG_DIR)
    rng = random.Random(f"train-{seed}")  # other renderings than synthetic_set_write's
    threads = torch.get_num_threads()
    # Ops this small are all overhead: one thread is several times faster than two contending ones.
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            clip = _fitted(open_clip, torch, model, rng=rng, steps=steps, variants=variants)
    finally:
        torch.set_num_threads(threads)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(clip.state_dict(), path)
    return path


def _fitted(open_clip, torch, model: str, *, rng: random.Random, steps: int, variants: int):
    import torch.nn.functional as F

    clip, _, preprocess = open_clip.create_model_and_transforms(model, pretrained=None)
    tokenizer = open_clip.get_tokenizer(model)
    specs = synthetic_specs()
    # A fixed pool of renderings per spec, preprocessed once; each step draws one per spec (no false negatives).
    pixels = torch.stack(
        [torch.stack([preprocess(shape_image(spec, rng=rng)) for _ in range(variants)]) for spec in specs]
    )
    captions = [[template.format(colour=s.colour, shape=s.shape) for template in TEMPLATES] for s in specs]
    tokens = torch.stack([tokenizer(options) for options in captions])  # specs × templates × context
    # The random token embeddings already tell the words apart; leaving the 49k-row table out of the optimiser
    # saves most of the step time.
    clip.token_embedding.requires_grad_(False)
    optimizer = torch.optim.AdamW([p for p in clip.parameters() if p.requires_grad], lr=2e-3, weight_decay=0.0)
    clip.train()
    labels = torch.arange(len(specs))
    for _ in range(steps):
        variant = torch.randint(variants, (len(specs),))
        template = torch.randint(len(TEMPLATES), (len(specs),))
        image_features = clip.encode_image(pixels[labels, variant], normalize=True)
        text_features = clip.encode_text(tokens[labels, template], normalize=True)
        logits = clip.logit_scale.exp() * image_features @ text_features.T
        loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return clip.eval()
