// URLs built by imgproxy's official Node client, @imgproxy/imgproxy-node.
import { generateImageUrl } from "@imgproxy/imgproxy-node";
import { run, Unsupported } from "./common.mjs";

run((req, c) => {
  if (req.signature_size && req.signature_size !== 32) {
    throw new Unsupported("no signature size setting: always the whole HMAC");
  }
  if (c.extension) {
    // generateImageUrl has no URL extension (js-core's `filename` is not passed through);
    // the `format` option is how this library chooses the output.
    throw new Unsupported("no URL extension; use the format option");
  }
  const options = {};
  if (c.resize) {
    options.resize = {
      resizing_type: c.resize.type,
      width: c.resize.width,
      height: c.resize.height,
      enlarge: c.resize.enlarge ? 1 : undefined,
    };
  }
  if (c.resizing_type) options.resizing_type = c.resizing_type;
  if (c.width !== undefined) options.width = c.width;
  if (c.height !== undefined) options.height = c.height;
  if (c.gravity !== undefined) {
    options.gravity =
      typeof c.gravity === "string"
        ? { type: c.gravity }
        : { type: "fp", x: c.gravity.x, y: c.gravity.y };
  }
  if (c.quality !== undefined) options.quality = c.quality;
  if (c.format) options.format = c.format;
  return generateImageUrl({
    endpoint: req.base,
    url: { value: c.source, displayAs: c.encoding },
    options,
    key: req.key,
    salt: req.salt,
  });
});
