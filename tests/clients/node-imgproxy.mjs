// URLs built by the npm package `imgproxy` (community Node client).
import Imgproxy from "imgproxy";
import { run } from "./common.mjs";

run((req, c) => {
  // The base URL is resolved with `new URL(path, baseUrl)`: a prefix needs its trailing "/".
  const base = req.base.endsWith("/") ? req.base : `${req.base}/`;
  const imgproxy = new Imgproxy({
    baseUrl: base,
    key: req.key,
    salt: req.salt,
    ...(req.signature_size ? { signatureSize: req.signature_size } : {}),
    encode: c.encoding !== "plain",
    insecure: false,
  });
  const b = imgproxy.builder();
  if (c.resize) {
    b.resize(c.resize.type, c.resize.width, c.resize.height, !!c.resize.enlarge);
  }
  // The library writes its resizing type as `rs:TYPE` (imgproxy reads that as a resize
  // with only its type set): kept as is, since that is what its users send.
  if (c.resizing_type) b.resizingType(c.resizing_type);
  if (c.width !== undefined) b.width(c.width);
  if (c.height !== undefined) b.height(c.height);
  if (c.gravity !== undefined) b.gravity(c.gravity);
  if (c.quality !== undefined) b.quality(c.quality);
  if (c.format) b.format(c.format);
  return b.generateUrl(c.source, c.extension);
});
