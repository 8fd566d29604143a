"""Procedural faces: one distinct, deterministic face per synthetic subject.

A face is rendered once per subject, supersampled (2x) in float, then area-downsampled to
the output size. Its albedo (skin tone, texture, moles, hair, brows, eyes, lips, folds) is
shaded by a height field (head ellipsoid + nose, brow ridge, cheeks, eye sockets) under a
per-subject light. ``Face.points`` names the landmarks the AU motion fields are anchored to.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SUPERSAMPLE = 2


@dataclass(frozen=True)
class Face:
    image: np.ndarray  # (H, W, 3) float32 RGB in [0, 255]
    points: dict  # landmark name -> (x, y) in output pixels


# helpers


def _gauss(x, y, cx, cy, sx, sy):
    return np.exp(-(((x - cx) / sx) ** 2 + ((y - cy) / sy) ** 2) / 2)


def _blend(img, mask, color, alpha=1.0):
    """Paint ``color`` (RGB or an (H, W, 3) layer) over ``img`` with a soft ``mask`` in [0, 1]."""
    m = (alpha * mask)[..., None]
    img *= 1 - m
    img += m * color


def _mask(shape, draw, blur):
    """A soft [0, 1] mask from an OpenCV drawing callback on a uint8 canvas."""
    canvas = np.zeros(shape, np.uint8)
    draw(canvas)
    m = canvas.astype(np.float32) / 255
    return cv2.GaussianBlur(m, (0, 0), blur) if blur > 0 else m


def _pts(points, S):
    return np.round(np.asarray(points) * S * 16).astype(np.int32)  # 4 fractional bits


def _poly(canvas, points, S):
    cv2.fillPoly(canvas, [_pts(points, S)], 255, cv2.LINE_AA, shift=4)


def _stroke(points, width, blur, S):
    """A soft mask of an open polyline ``width`` (fraction of the side) thick."""
    thickness = max(1, int(width * S))
    return _mask((S, S), lambda c: cv2.polylines(c, [_pts(points, S)], False, 255, thickness, cv2.LINE_AA, 4), blur)


def _curve(p0, p1, p2, n=24):
    """Quadratic Bezier through control points (normalised coordinates), shape (n, 2)."""
    t = np.linspace(0, 1, n)[:, None]
    p0, p1, p2 = (np.asarray(p, np.float64) for p in (p0, p1, p2))
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2


def _noise(rng, shape, sigma):
    """Smooth zero-mean, unit-std noise with correlation length ``sigma`` pixels."""
    n = cv2.GaussianBlur(rng.standard_normal(shape).astype(np.float32), (0, 0), sigma)
    return n / (n.std() + 1e-6)


# rendering


def render_face(rng: np.random.Generator, size: int) -> Face:
    """Draw one subject's face; every random choice comes from ``rng``."""
    S = size * SUPERSAMPLE
    u = rng.uniform
    ys, xs = np.mgrid[0:S, 0:S].astype(np.float32) / S  # normalised coordinates
    # geometry (normalised to the image side)
    cx, cy = 0.5 + u(-0.02, 0.02), 0.53 + u(-0.02, 0.02)
    fw, fh = u(0.36, 0.43), u(0.45, 0.52)
    taper = u(0.15, 0.4)
    eye_y, eye_dx = cy - fh * u(0.12, 0.2), fw * u(0.36, 0.44)
    eye_rx = fw * u(0.17, 0.21)
    eye_ry = eye_rx * u(0.38, 0.5)
    brow_y, brow_arch, brow_th = eye_y - fh * u(0.15, 0.22), fh * u(0.02, 0.06), fh * u(0.025, 0.045)
    nose_y, nose_w = cy + fh * u(0.14, 0.22), fw * u(0.17, 0.24)
    mouth_y, mouth_w = cy + fh * u(0.42, 0.5), fw * u(0.3, 0.4)
    lip_up, lip_lo = fh * u(0.035, 0.06), fh * u(0.05, 0.08)
    chin_y = mouth_y + fh * u(0.22, 0.28)
    # colours
    tone = u(0, 1)
    skin = (1 - tone) * np.array([236, 200, 172]) + tone * np.array([118, 80, 58])
    skin = np.float32(skin * u(0.94, 1.06, 3))
    hair = np.float32(rng.choice([[25, 20, 18], [60, 40, 25], [110, 75, 40], [150, 120, 80]]) * u(0.8, 1.2))
    lips = np.float32(skin * [u(0.72, 0.85), u(0.5, 0.62), u(0.52, 0.65)])
    iris = np.float32(rng.choice([[70, 45, 25], [40, 30, 25], [70, 100, 130], [80, 110, 70]]))
    back = np.float32(u(40, 200) * np.ones(3) + u(-20, 20, 3))

    # face and head masks: a super-ellipse that narrows towards the chin
    dy = (ys - cy) / fh
    half_w = fw * (1 - taper * np.clip(dy, 0, None) ** 2)
    r = np.sqrt(((xs - cx) / half_w) ** 2 + dy**2)
    face = np.clip((1 - r) * S / 3, 0, 1)
    neck = np.clip((0.6 * fw - np.abs(xs - cx)) * S / 3, 0, 1) * (ys > cy)
    hair_line = cy - fh * u(0.5, 0.7) + fh * u(0.15, 0.35) * ((xs - cx) / fw) ** 2
    head_r = np.sqrt(((xs - cx) / (fw * 1.12)) ** 2 + ((ys - cy + 0.05) / (fh * 1.08)) ** 2)
    hair_mask = np.clip((1 - head_r) * S / 3, 0, 1) * np.clip((hair_line - ys) * S / 4, 0, 1)

    # albedo: background, neck, skin with blotches, pores and moles
    img = np.empty((S, S, 3), np.float32)
    img[:] = back * (0.8 + 0.4 * ys[..., None])
    _blend(img, neck, skin * 0.75)
    texture = 1 + 0.05 * _noise(rng, (S, S), 10 * SUPERSAMPLE) + 0.035 * _noise(rng, (S, S), 0.8 * SUPERSAMPLE)
    _blend(img, face, skin * texture[..., None])
    for _ in range(rng.integers(4, 14)):
        mx, my = cx + u(-0.9, 0.9) * fw, cy + u(-0.5, 0.9) * fh
        spot = _gauss(xs, ys, mx, my, *(2 * [u(0.002, 0.006)])) * face
        _blend(img, spot, skin * 0.6, u(0.3, 0.7))
    _blend(img, _gauss(xs, ys, cx - 0.6 * fw, nose_y, 0.1, 0.06) + _gauss(xs, ys, cx + 0.6 * fw, nose_y, 0.1, 0.06),
           np.float32([200, 90, 90]), u(0.05, 0.15))
    strands = 1 + 0.25 * cv2.GaussianBlur(rng.standard_normal((S, S)).astype(np.float32), (0, 0), 1, sigmaY=8)
    _blend(img, hair_mask, hair * strands[..., None])

    pts = {}
    for side in (-1, 1):  # -1: the subject's right (image left)
        ex, k = cx + side * eye_dx, "lr"[side > 0]
        pts[f"eye_{k}"] = (ex, eye_y)
        pts[f"eye_top_{k}"], pts[f"eye_bot_{k}"] = (ex, eye_y - eye_ry), (ex, eye_y + eye_ry)
        # eye: sclera, iris, pupil, glint; lids and crease
        sclera = _mask((S, S), lambda c: cv2.ellipse(c, (int(ex * S), int(eye_y * S)), (int(eye_rx * S), int(eye_ry * S)),
                                                     0, 0, 360, 255, -1, cv2.LINE_AA), 0.7)
        _blend(img, sclera, np.float32([228, 222, 215]))
        ix = ex + u(-0.1, 0.1) * eye_rx
        dist = np.hypot(xs - ix, ys - eye_y)
        _blend(img, sclera * _gauss(xs, ys, ix, eye_y, eye_ry * 0.55, eye_ry * 0.55) ** 0.3 * (dist < eye_ry * 0.95), iris)
        _blend(img, sclera * (dist < eye_ry * 0.4), np.float32([10, 10, 10]))
        _blend(img, _gauss(xs, ys, ix + 0.3 * eye_ry, eye_y - 0.3 * eye_ry, 0.004, 0.004), np.float32([250, 250, 250]), 0.8)
        lid = _curve((ex - eye_rx * 1.05, eye_y + 0.1 * eye_ry), (ex, eye_y - 2.1 * eye_ry),
                     (ex + eye_rx * 1.05, eye_y + 0.1 * eye_ry))
        upper = _stroke(lid, 0.012, 0.8, S)
        _blend(img, upper, hair * 0.6, 0.9)
        crease = lid + [0, -0.9 * eye_ry]
        _blend(img, _stroke(crease, 0.006, 1.5, S), skin * 0.55, 0.6)
        low = _curve((ex - eye_rx, eye_y), (ex, eye_y + 1.9 * eye_ry), (ex + eye_rx, eye_y))
        _blend(img, _stroke(low, 0.004, 1.0, S), skin * 0.6, 0.6)
        # brow: a tapered arc from the inner to the outer end
        bi, bo = cx + side * fw * u(0.1, 0.16), cx + side * (eye_dx + eye_rx * u(1.1, 1.4))
        bm = (bi + bo) / 2
        top = _curve((bi, brow_y - brow_th * 0.5), (bm, brow_y - brow_arch - brow_th * 0.6), (bo, brow_y + brow_th * 0.2))
        bot = _curve((bi, brow_y + brow_th * 0.5), (bm, brow_y - brow_arch + brow_th * 0.3), (bo, brow_y + brow_th * 0.5))
        brow = _mask((S, S), lambda c: _poly(c, np.concatenate([top, bot[::-1]]), S), 0.8)
        _blend(img, brow, hair * 0.55 * (1 + 0.3 * strands[..., None]), u(0.8, 0.95))
        pts[f"brow_in_{k}"], pts[f"brow_out_{k}"] = (bi, brow_y), (bo, brow_y + brow_th * 0.3)
        pts[f"brow_mid_{k}"] = ((bi + bo) / 2, brow_y - brow_arch * 0.5)
        # nose wing, nostril, nasolabial fold, cheek
        wx = cx + side * nose_w
        pts[f"nose_wing_{k}"] = (wx, nose_y)
        pts[f"nose_side_{k}"] = (cx + side * nose_w * 0.55, (eye_y + nose_y) / 2 + 0.01)
        wing = _curve((wx - side * 0.2 * nose_w, nose_y - 0.04), (wx + side * 0.25 * nose_w, nose_y - 0.01),
                      (wx - side * 0.2 * nose_w, nose_y + 0.025))
        _blend(img, _stroke(wing, 0.006, 1.5, S), skin * 0.55, 0.7)
        nostril = _gauss(xs, ys, cx + side * nose_w * 0.45, nose_y + 0.012, nose_w * 0.22, 0.008)
        _blend(img, nostril, np.float32([40, 25, 20]), 0.8)
        mx = cx + side * mouth_w
        fold = _curve((wx + side * 0.02, nose_y + 0.005), (mx + side * 0.06, (nose_y + mouth_y) / 2),
                      (mx + side * 0.025, mouth_y + 0.03))
        _blend(img, _stroke(fold, 0.006, 2.5, S), skin * 0.6, u(0.35, 0.6))
        pts[f"cheek_{k}"] = (cx + side * (eye_dx + 0.02), (eye_y + nose_y) / 2 + 0.02)
        pts[f"mouth_{k}"] = (mx, mouth_y)

    # lips: upper with a cupid's bow, lower, and the dark line between them
    ml, mr = (cx - mouth_w, mouth_y), (cx + mouth_w, mouth_y)
    up = np.concatenate([_curve(ml, (cx - mouth_w * 0.5, mouth_y - lip_up * 1.6), (cx, mouth_y - lip_up * 0.9), 12),
                         _curve((cx, mouth_y - lip_up * 0.9), (cx + mouth_w * 0.5, mouth_y - lip_up * 1.6), mr, 12),
                         _curve(mr, (cx, mouth_y + lip_up * 0.2), ml, 24)])
    lo = np.concatenate([_curve(ml, (cx, mouth_y + lip_lo * 2.0), mr), _curve(mr, (cx, mouth_y), ml)])
    _blend(img, _mask((S, S), lambda c: _poly(c, up, S), 0.9), lips * 0.9)
    _blend(img, _mask((S, S), lambda c: _poly(c, lo, S), 0.9), lips)
    line = _curve(ml, (cx, mouth_y + lip_up * 0.25), mr)
    _blend(img, _stroke(line, 0.008, 0.8, S), lips * 0.35, 0.9)
    sulcus = _curve((cx - mouth_w * 0.5, mouth_y + lip_lo * 1.6), (cx, mouth_y + lip_lo * 2.6),
                    (cx + mouth_w * 0.5, mouth_y + lip_lo * 1.6))
    _blend(img, _stroke(sulcus, 0.008, 2.5, S), skin * 0.6, 0.5)
    pts.update(lip_top=(cx, mouth_y - lip_up), lip_bot=(cx, mouth_y + lip_lo), chin=(cx, (mouth_y + lip_lo + chin_y) / 2),
               nose_tip=(cx, nose_y), glabella=(cx, brow_y + 0.01))

    # shading: a height field under one directional light
    h = np.sqrt(np.clip(1 - r**2, 0, None)) * 0.12 * (1 - 0.5 * hair_mask)
    h += 0.05 * _gauss(xs, ys, cx, (eye_y + nose_y) / 2, nose_w * 0.35, (nose_y - eye_y) * 0.7)  # nose
    h += 0.03 * _gauss(xs, ys, cx, nose_y - 0.01, nose_w * 0.5, 0.025)
    for side in (-1, 1):
        h += 0.02 * _gauss(xs, ys, cx + side * eye_dx, brow_y, 0.09, 0.025)  # brow ridge
        h -= 0.02 * _gauss(xs, ys, cx + side * eye_dx, eye_y, eye_rx * 1.2, eye_ry * 2)  # eye socket
        h += 0.015 * _gauss(xs, ys, cx + side * 0.6 * fw, nose_y, 0.08, 0.06)  # cheek
    h += 0.015 * _gauss(xs, ys, cx, chin_y - 0.03, 0.08, 0.04)
    gy, gx = np.gradient(h * S, axis=(0, 1))
    light = np.array([u(-0.6, 0.6), u(-0.5, 0.1), 1.0])
    light /= np.linalg.norm(light)
    shade = (-gx * light[0] - gy * light[1] + light[2]) / np.sqrt(gx**2 + gy**2 + 1)
    ambient = u(0.35, 0.55)
    shade = ambient + (1 - ambient) * np.clip(shade, 0, None)
    lit = np.float32(u(0.9, 1.15)) * (shade * np.maximum(face, hair_mask) + (1 - np.maximum(face, hair_mask)))
    img *= lit[..., None]

    out = cv2.resize(np.clip(img, 0, 255), (size, size), interpolation=cv2.INTER_AREA)
    return Face(image=out, points={k: (x * size, y * size) for k, (x, y) in pts.items()})
