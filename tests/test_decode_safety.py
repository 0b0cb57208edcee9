"""Hostile files against the decoder (issue 10): each is skipped with a reason or drawn safely,
no image reads another file, no outside program runs, and every decode is bounded."""
import base64
import gzip
import io
import os
import time
from types import SimpleNamespace

import hostile
import numpy as np
import pytest
from PIL import Image

from pipeline import decode, exclude, image_search, intake
from pipeline.thumbnails import ThumbSpec, make_thumbnails, thumbnail_paths

SPEC = ThumbSpec((64, 64), "contain", 128, (255, 255, 255))
SVG = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xi="http://www.w3.org/2001/XInclude" width="400" height="400">'
WHITE = '<rect width="400" height="400" fill="white"/>'


def thumbs(root, cache, **kw):
    found = intake.find_images(root)
    digests = intake.hash_files(found.root, found.files, cache / "index.json")
    return digests, make_thumbnails(found.root, digests, cache, SPEC, **kw)


def preview(cache, digests, rel):
    return np.asarray(Image.open(thumbnail_paths(cache, SPEC, digests[rel])[1]).convert("RGB")).astype(int)


def svg(body: str) -> str:
    return f"{SVG}{WHITE}{body}</svg>"


def test_a_vips_format_file_or_matrix_text_named_jpg_is_skipped_and_cached(tmp_path):
    import pyvips
    images = tmp_path / "images"
    images.mkdir()
    hostile.photo(64, 48).save(images / "good.jpg")
    pyvips.Image.black(50, 50).write_to_file(str(tmp_path / "x.v"))
    os.replace(tmp_path / "x.v", images / "upload.jpg")  # once, this ended every build
    (images / "matrix.jpg").write_text("2 2\n1 2\n3 4\n")  # libvips' matrix text format
    assert decode.size_refusal(images / "upload.jpg", 1000) is None  # no exception
    for _ in range(2):  # the rerun reads the cached outcome
        digests, made = thumbs(images, tmp_path / "cache")
        assert sorted(made.failed) == ["matrix.jpg", "upload.jpg"], made.failed
        assert all(why.startswith("not an image") for why in made.failed.values())
    assert thumbnail_paths(tmp_path / "cache", SPEC, digests["upload.jpg"])[0].with_suffix(".note.json").is_file()


@pytest.fixture
def private_folder(tmp_path):
    """An image folder with files an SVG must not read: the CSV, a hidden photo, .git/config."""
    images = tmp_path / "images"
    (images / ".git").mkdir(parents=True)
    (images / "metadata.csv").write_text("filename,donor_email\n" + "x.svg,alice@example.org\n" * 20)
    (images / ".git" / "config").write_text("[remote]\n token = ghp_secret\n" * 10)
    Image.new("RGB", (400, 400), "red").save(images / ".private.png")
    text = '<text x="0" y="60" font-size="60" fill="black">{}</text>'
    files = {
        "csv.svg": svg(text.format('<xi:include href="metadata.csv" parse="text"/>')),
        "git.svg": svg(text.format('<xi:include href=".git/config" parse="text"/>')),
        "hidden-png.svg": svg('<image href=".private.png" width="400" height="400"/>'),
        "xlink-png.svg": svg('<image xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href=".private.png" '
                             'width="400" height="400"/>'),
        "inline-text.svg": svg(text.format("Hello")),  # shows that text is drawn at all
    }
    for name, body in files.items():
        (images / name).write_text(body)
    return images


def test_svgs_cannot_read_files_beside_them(private_folder, tmp_path):
    digests, made = thumbs(private_folder, tmp_path / "cache")
    assert made.failed == {} and made.warnings == {}
    assert preview(tmp_path / "cache", digests, "inline-text.svg").min() < 60  # text is drawn
    for name in ("csv.svg", "git.svg", "hidden-png.svg", "xlink-png.svg"):
        pixels = preview(tmp_path / "cache", digests, name)
        assert pixels.min() > 245, name  # blank: no CSV text, no token, no hidden photo


def test_exclude_and_search_draw_svgs_without_reading_files(private_folder):
    unwanted = exclude.load_unwanted(private_folder, SPEC)
    blank = exclude.phash(np.full((64, 64, 3), 255, np.uint8))
    for name in ("csv.svg", "git.svg", "hidden-png.svg"):
        assert unwanted.hashes[name] == blank, name
    assert unwanted.hashes["inline-text.svg"] != blank
    index = SimpleNamespace(desc={"model": {"size": [96, 96], "background": [255, 255, 255]}})
    for name in ("csv.svg", "hidden-png.svg"):  # the query decode of the `search` command
        assert image_search.pixels(index, private_folder / name).min() > 245, name


def test_pillow_opens_only_the_formats_it_is_there_for(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    im = hostile.photo(64, 48)
    kinds = {"TGA": im, "PCX": im, "SGI": im, "ICO": im, "DDS": im, "IM": im,
             "XBM": im.convert("1"), "SPIDER": im.convert("F")}
    for fmt, pic in kinds.items():
        buf = io.BytesIO()  # not saved by name: Pillow's SPIDER writer would take over ".png"
        pic.save(buf, fmt)
        (images / f"{fmt.lower()}.png").write_bytes(buf.getvalue())
    # what the fallback is there for: 8-bit CIELAB, which libvips refuses, and .bmp, which it lacks
    hostile.photo(40, 40).convert("LAB").save(images / "lab.tif")
    im.save(images / "plain.bmp")
    _, made = thumbs(images, tmp_path / "cache")
    assert sorted(made.failed) == sorted(f"{fmt.lower()}.png" for fmt in kinds)
    assert all(why.startswith("not an image") for why in made.failed.values()), made.failed


def test_postscript_named_jpg_never_runs_ghostscript(tmp_path, monkeypatch):
    from PIL import EpsImagePlugin
    bin_dir, ran = tmp_path / "bin", tmp_path / "gs-ran"
    bin_dir.mkdir()
    (bin_dir / "gs").write_text(f"#!/bin/sh\ntouch {ran}\nexit 1\n")  # a stand-in that tells if it ran
    (bin_dir / "gs").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(EpsImagePlugin, "gs_binary", None)  # Pillow looks for gs again
    images = tmp_path / "images"
    images.mkdir()
    hostile.photo(64, 48).save(images / "upload.jpg", "EPS")
    _, made = thumbs(images, tmp_path / "cache")
    assert made.failed["upload.jpg"].startswith("not an image")
    assert not ran.exists()


def embedded_png_svg(w: int, h: int, hide: bool = False) -> bytes:
    import pyvips
    png = pyvips.Image.black(w, h).new_from_image([30, 90, 200]).cast("uchar").write_to_buffer(".png")
    scheme = b"&#100;ata" if hide else b"data"  # a character reference hides it from a text scan
    return (b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="50"><image width="100" height="50" href="'
            + scheme + b":image/png;base64," + base64.b64encode(png) + b'"/></svg>')


def test_svg_embedded_images_count_against_max_megapixels(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    (images / "embeds.svg").write_bytes(embedded_png_svg(2000, 1000))
    assert "SVG embeds images of 2 megapixels, over the limit of 1 megapixels" in \
        thumbs(images, tmp_path / "c1", max_megapixels=1)[1].failed["embeds.svg"]
    digests, made = thumbs(images, tmp_path / "c2", max_megapixels=5)
    assert made.failed == {}
    assert np.abs(preview(tmp_path / "c2", digests, "embeds.svg")[32, 64] - [30, 90, 200]).max() < 8


def test_svg_drawing_is_bounded_in_memory(tmp_path):
    """12,000 x 12,000 px embedded (1.5 GB to draw), hidden from the scan: the process limit holds."""
    images = tmp_path / "images"
    images.mkdir()
    (images / "hidden-bomb.svg").write_bytes(embedded_png_svg(12000, 12000, hide=True))
    assert decode.size_refusal(images / "hidden-bomb.svg", 100) is None  # the scan misses it
    made = thumbs(images, tmp_path / "cache", max_megapixels=100)[1]
    assert made.failed["hidden-bomb.svg"].startswith(f"SVG needs more than {decode.SVG_MEMORY_MB} MB")


def test_svgz_bomb_and_oversized_svg_are_refused(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    body = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    body += b'<rect width="1" height="1"/>' * (decode.SVG_MAX_BYTES // 28 + 1000) + b"</svg>"
    (images / "bomb.svgz").write_bytes(gzip.compress(body))
    (images / "disguised.png").write_bytes(gzip.compress(body))  # by content, not by name
    (images / "huge.svg").write_bytes(body)
    _, made = thumbs(images, tmp_path / "cache")
    assert made.failed["bomb.svgz"].startswith(".svgz expands to more than 16 MB")
    assert made.failed["disguised.png"] == made.failed["bomb.svgz"]
    assert made.failed["huge.svg"].startswith("SVG file is 16.0 MB, over the limit of 16 MB")


def test_heavy_filter_svg_is_stopped_in_time_and_not_retried(tmp_path, monkeypatch):
    monkeypatch.setattr(decode, "SVG_SECONDS", 2)
    images = tmp_path / "images"
    images.mkdir()
    chain = "".join(f'<feMorphology operator="dilate" radius="{30 + i}"/>' for i in range(800))
    (images / "filters.svg").write_text(  # 37 KB; unbounded, ~10 s of CPU at 64 px, ~40 s at 128
        f'<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="1000"><filter id="f" '
        f'filterUnits="userSpaceOnUse" x="0" y="0" width="1000" height="1000">{chain}</filter>'
        f'<rect width="1000" height="1000" fill="red" filter="url(#f)"/></svg>')
    hostile.photo(64, 48).save(images / "good.jpg")
    start = time.monotonic()
    made = thumbs(images, tmp_path / "cache")[1]
    assert list(made.failed) == ["filters.svg"]
    assert made.failed["filters.svg"] == "SVG takes more than 2 s of CPU to draw, the limit (filters too heavy?)"
    assert time.monotonic() - start < 30  # 2 s of CPU; the wall clock runs longer on a busy machine
    start = time.monotonic()
    assert thumbs(images, tmp_path / "cache")[1].failed == made.failed  # cached: not drawn again
    assert time.monotonic() - start < 2


def test_hostile_files_build_and_are_reported_by_name(tmp_path):
    import pyvips

    from pipeline.build import Settings, build
    images = tmp_path / "images"
    images.mkdir()
    for i in range(4):
        hostile.photo(64, 48, seed=i).save(images / f"photo{i}.jpg")
    pyvips.Image.black(50, 50).write_to_file(str(images / "x.v"))
    os.replace(images / "x.v", images / "upload.jpg")
    hostile.photo(64, 48).save(images / "targa.png", "TGA")
    (images / "embeds.svg").write_bytes(embedded_png_svg(2000, 1000))
    (images / "bomb.svgz").write_bytes(gzip.compress(b"<svg>" + b" " * (decode.SVG_MAX_BYTES + 1)))
    Image.new("RGB", (64, 64), "red").save(images / ".private.png")
    (images / "peek.svg").write_text(svg('<image href=".private.png" width="400" height="400"/>'))
    report = build(Settings(images=str(images), out=tmp_path / "site", cache=tmp_path / "cache",
                            image_search=False, max_megapixels=1))
    assert report.items == 5  # the photos and peek.svg, drawn blank
    assert report.skipped["upload.jpg"].startswith("not an image")
    assert report.skipped["targa.png"].startswith("not an image")
    assert report.skipped["embeds.svg"].startswith("SVG embeds images of 2 megapixels")
    assert report.skipped["bomb.svgz"].startswith(".svgz expands to more than 16 MB")
    summary = report.summary(tmp_path / "site")
    assert "upload.jpg: not an image" in summary and "bomb.svgz: .svgz expands" in summary


def test_small_plain_images_decode_by_pillow_as_libvips_would(tmp_path):
    """Small plain PNG/JPEG go through Pillow (decode.small_set): every box's size equals libvips'
    and its pixels differ by under a level on average, enlarged or reduced, with alpha flattened; files
    that are not plain (an ICC profile, 16 bits) are left to libvips."""
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:37, 0:53]
    rgba = np.dstack([x * 4, y * 6, (x + y) * 2, np.where(x > 40, 90, 255)]).astype(np.uint8)  # smooth, like a picture
    rgba[..., :3] = np.clip(rgba[..., :3] + rng.integers(-2, 3, rgba[..., :3].shape), 0, 255)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    Image.fromarray(rgba[..., :3]).resize((300, 210)).save(tmp_path / "b.jpg", quality=90)
    boxes = {"cell": (128, 128, "contain"), "preview": (256, 256, "contain"), "cnn": (224, 224, "force"),
             "fill": (100, 100, "fill"), "down": (40, 40, "contain")}
    bg = [200, 220, 240]
    for name in ("a.png", "b.jpg"):
        got = decode.small_set(tmp_path / name, boxes, bg)
        assert got is not None
        for box, (w, h, fit) in boxes.items():
            want = decode.to_array(decode._to_srgb(decode._raster(
                tmp_path / name, w, h, "force" if fit == "force" else "both", "centre" if fit == "fill" else "none",
                "error"), bg))
            assert got[box].shape == want.shape, (name, box)
            assert np.abs(got[box].astype(int) - want).mean() < 1.0, (name, box)  # under a level
    Image.fromarray(rgba[..., :3]).save(tmp_path / "icc.png", icc_profile=b"\0" * 200)
    Image.fromarray(rgba[..., 0].astype(np.uint16) * 257).save(tmp_path / "deep.png")
    assert decode.small_set(tmp_path / "icc.png", boxes, bg) is None
    assert decode.small_set(tmp_path / "deep.png", boxes, bg) is None
