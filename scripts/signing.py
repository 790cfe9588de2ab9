"""ferrotype's URL signature (API.md §2) for the scripts in this directory: HMAC-SHA1 of the
canonical form (path, then the query's pieces without `s`, sorted bytewise)."""
import hashlib
import hmac


def sign(key, target):
    """`target` (path and query, percent-encoded as sent) with its `s` appended."""
    path, _, query = target.partition("?")
    pieces = [p for p in query.split("&") if p and p.split("=", 1)[0] != "s"]
    canonical = path + ("?" + "&".join(sorted(pieces)) if pieces else "")
    s = hmac.new(key.encode(), canonical.encode(), hashlib.sha1).hexdigest()
    return f"{path}?{'&'.join(pieces + ['s=' + s])}"
