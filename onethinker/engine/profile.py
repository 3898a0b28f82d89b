"""A model's own input settings, shipped next to its weights: ``onethinker.json``.

A model trained at other input sizes than OneThinker-8B (the small OneThinker-nano, say) must see at
inference what it saw in training: its video sampling, its image pixel limits and, when the catalogue's
full instructions are too long for it, its own prompt-template file.  One small file in the checkpoint
folder says so::

    {"format": 1,
     "prompt_templates": "prompt_templates.json",
     "video": {"fps": 2.0, "max_frames": 16, "min_pixels": 4096, "max_pixels": 16384},
     "image": {"min_pixels": 4096, "max_pixels": 65536}}

Every key is optional.  ``prompt_templates`` names a file in the same folder in the format of
:func:`onethinker.tasks.load_prompt_templates`; without the key, a ``prompt_templates.json`` /
``.yaml`` / ``.yml`` in the folder is used (the app's convention for a template shipped with a model).

:func:`load_profile` reads it (a hub id or a folder without the file gives the empty profile, which
changes nothing); :meth:`ModelProfile.apply` fills in what a :class:`~onethinker.engine.request.Request`
leaves unset.  ``TransformersBackend`` applies its model's profile to every request, so the app and the
evaluation runner send the same inputs; ``train.data``'s loaders take a profile too, so training does.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onethinker.engine.errors import ModelLoadError
from onethinker.tasks import DEFAULT_TEMPLATES, PromptTemplates, load_prompt_templates

PROFILE_FILE = "onethinker.json"
TEMPLATE_FILES = ("prompt_templates.json", "prompt_templates.yaml", "prompt_templates.yml")
FORMAT = 1
VIDEO_KEYS = {"fps": float, "max_frames": int, "min_frames": int, "min_pixels": int, "max_pixels": int}
IMAGE_KEYS = {"min_pixels": int, "max_pixels": int}


@dataclass(frozen=True)
class ModelProfile:
    """What a model folder says about its inputs; ``None`` / empty means "the official setting"."""

    templates: PromptTemplates = DEFAULT_TEMPLATES
    template_file: str | None = None  # the file the templates came from (for display and copying)
    video: dict[str, Any] = dataclasses.field(default_factory=dict)  # keys of VIDEO_KEYS
    image: dict[str, Any] = dataclasses.field(default_factory=dict)  # keys of IMAGE_KEYS

    @property
    def empty(self) -> bool:
        return self.templates is DEFAULT_TEMPLATES and not self.video and not self.image

    def video_sampling(self, factor: int = 32):
        """The :class:`~onethinker.media.sampling.VideoSampling` of this profile (None when it sets none)."""
        if not self.video:
            return None
        from onethinker.media.sampling import VideoSampling

        return dataclasses.replace(VideoSampling.official(factor), **self.video)

    def apply(self, request, factor: int = 32):
        """``request`` with the profile's templates and media limits wherever the request leaves them unset
        (templates still the catalogue's, no video sampling, no image pixel limits)."""
        changes: dict[str, Any] = {}
        if request.templates is DEFAULT_TEMPLATES and self.templates is not DEFAULT_TEMPLATES:
            changes["templates"] = self.templates
        if request.video_sampling is None and self.video:
            changes["video_sampling"] = self.video_sampling(factor)
        if request.image_max_pixels is None and "max_pixels" in self.image:
            changes["image_max_pixels"] = self.image["max_pixels"]
        if request.image_min_pixels is None and "min_pixels" in self.image:
            changes["image_min_pixels"] = self.image["min_pixels"]
        return dataclasses.replace(request, **changes) if changes else request

    def to_json(self) -> dict:
        out: dict[str, Any] = {"format": FORMAT}
        if self.template_file:
            out["prompt_templates"] = Path(self.template_file).name
        if self.video:
            out["video"] = dict(self.video)
        if self.image:
            out["image"] = dict(self.image)
        return out


EMPTY = ModelProfile()


def _local_folder(model: "str | os.PathLike") -> Path | None:
    p = Path(os.fspath(model)).expanduser()
    return p if p.is_dir() else None


def _limits(raw: Any, keys: dict[str, type], where: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ModelLoadError(f"{where} must be an object with keys {sorted(keys)}")
    unknown = set(raw) - set(keys)
    if unknown:
        raise ModelLoadError(f"{where} has unknown keys {sorted(unknown)}; known: {sorted(keys)}")
    out = {}
    for k, v in raw.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0 or (keys[k] is int and v != int(v)):
            raise ModelLoadError(f"{where}.{k} must be a positive {'whole ' if keys[k] is int else ''}number, got {v!r}")
        out[k] = keys[k](v)
    if out.get("min_pixels", 0) > out.get("max_pixels", float("inf")):
        raise ModelLoadError(f"{where}: min_pixels is larger than max_pixels")
    return out


def load_profile(model: "str | os.PathLike | None") -> ModelProfile:
    """The profile of a model folder; the empty profile for a hub id or a folder without one.

    Raises :class:`~onethinker.engine.errors.ModelLoadError` naming the file and the key for a broken
    ``onethinker.json`` or template file (a model must not silently run with the wrong inputs).
    """
    folder = _local_folder(model) if model else None
    if folder is None:
        return EMPTY
    path = folder / PROFILE_FILE
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ModelLoadError(f"model profile {path} cannot be read as JSON ({e})") from None
        if not isinstance(data, dict):
            raise ModelLoadError(f"model profile {path} must hold an object at the top level")
        unknown = set(data) - {"format", "prompt_templates", "video", "image"}
        if unknown:
            raise ModelLoadError(f"model profile {path} has unknown keys {sorted(unknown)}")
        if data.get("format", FORMAT) != FORMAT:
            raise ModelLoadError(f"model profile {path} has format {data.get('format')!r}; this version reads {FORMAT}")
    name = data.get("prompt_templates")
    if name is not None and (not isinstance(name, str) or Path(name).name != name or not name):
        raise ModelLoadError(f"model profile {path}: 'prompt_templates' must be a file name in the model folder")
    template_file = folder / name if name else next((folder / n for n in TEMPLATE_FILES if (folder / n).is_file()),
                                                    None)
    templates = DEFAULT_TEMPLATES
    if template_file is not None:
        if not template_file.is_file():
            raise ModelLoadError(f"model profile {path} names the prompt-template file {name}, which is not in {folder}")
        try:
            templates = load_prompt_templates(template_file)
        except ValueError as e:
            raise ModelLoadError(str(e)) from None
    return ModelProfile(templates, str(template_file) if template_file else None,
                        _limits(data.get("video"), VIDEO_KEYS, f"{path}: video"),
                        _limits(data.get("image"), IMAGE_KEYS, f"{path}: image"))


def write_profile(folder: "str | os.PathLike", *, templates_from: "str | os.PathLike | None" = None,
                  video: dict[str, Any] | None = None, image: dict[str, Any] | None = None) -> Path:
    """Write ``onethinker.json`` into a model folder (copying the template file there when given) and
    return its path; the result is read back with :func:`load_profile` so a bad value fails here."""
    import shutil

    out = Path(folder)
    data: dict[str, Any] = {"format": FORMAT}
    if templates_from is not None:
        src = Path(templates_from)
        if src.resolve() != (out / src.name).resolve():
            shutil.copyfile(src, out / src.name)
        data["prompt_templates"] = src.name
    if video:
        data["video"] = dict(video)
    if image:
        data["image"] = dict(image)
    path = out / PROFILE_FILE
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    load_profile(out)
    return path


def copy_profile(src: "str | os.PathLike | None", dst: "str | os.PathLike") -> bool:
    """Copy a model folder's profile (``onethinker.json`` and its template file) into a checkpoint made from
    it, so a fine-tuned model keeps its inputs; returns whether there was one to copy."""
    import shutil

    folder = _local_folder(src) if src else None
    if folder is None:
        return False
    profile = load_profile(folder)
    out = Path(dst)
    copied = False
    if (folder / PROFILE_FILE).is_file():
        shutil.copyfile(folder / PROFILE_FILE, out / PROFILE_FILE)
        copied = True
    if profile.template_file and Path(profile.template_file).parent.resolve() != out.resolve():
        shutil.copyfile(profile.template_file, out / Path(profile.template_file).name)
        copied = True
    return copied
