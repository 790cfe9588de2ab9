"""URLs built by the PyPI package `imgproxy` (ImgProxy), one line per case of the JSON
request on stdin (see README.md beside this file)."""

import json
import sys

from imgproxy import ImgProxy


def build(req, case):
    if req.get("signature_size") not in (None, 32):
        return "unsupported: no signature size setting: always the whole HMAC"
    if case.get("encoding") == "plain":
        return "unsupported: base64 sources only"
    # Its basic parameters become `g:…/rs:TYPE:W:H:E` after the advanced options, so a size
    # goes through them (an advanced `w:` would be overridden by that `rs:`). They are given
    # when calling, as its README's "Options" shows; `enlarge=True` there comes out as
    # `rs:…:True` (Python's bool, which imgproxy's Go ParseBool reads as true).
    params = {}
    resize = case.get("resize")
    if resize:
        params["resizing_type"] = resize["type"]
        params["width"] = resize.get("width") or 0
        params["height"] = resize.get("height") or 0
        if resize.get("enlarge"):
            params["enlarge"] = True
    if "resizing_type" in case:
        params["resizing_type"] = case["resizing_type"]
    if "width" in case:
        params["width"] = case["width"]
    if "height" in case:
        params["height"] = case["height"]
    gravity = case.get("gravity")
    if isinstance(gravity, str):
        params["gravity"] = gravity
    elif gravity is not None:
        # Its gravity is any string: a focus point is written as imgproxy spells it.
        params["gravity"] = f"fp:{gravity['x']}:{gravity['y']}"
    advanced = []
    if "quality" in case:
        advanced.append(f"q:{case['quality']}")
    if case.get("format"):
        advanced.append(f"f:{case['format']}")
    # The extension goes to the constructor: given when calling, it is appended without its
    # dot (`…anBnpng`), which changes the base64 source itself.
    url = ImgProxy(
        case["source"],
        proxy_host=req["base"],
        key=req["key"],
        salt=req["salt"],
        extension=case.get("extension") or "",
    )
    return url(*advanced, **params)


def main():
    req = json.load(sys.stdin)
    for case in req["cases"]:
        print(build(req, case))


if __name__ == "__main__":
    main()
