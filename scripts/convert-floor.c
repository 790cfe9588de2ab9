/* The least CPU any tool built on libjpeg-turbo and libwebp can spend on convert-compare's
 * batch: each photo decoded once, as ferrotype decodes it (reduced in the DCT by 2, 4 or 8
 * when that leaves Lanczos at least 1.5x, fast IDCT then; else whole, accurate), and each
 * output's pixels encoded once as WebP at quality 80, effort 4 (libwebp's, sharp's and
 * imgproxy's default). Nothing else is counted: no reading, resizing or writing. Effort 2
 * is shown for comparison, with the bytes it writes.
 *
 *   cc -O2 scripts/convert-floor.c -o convert-floor -lturbojpeg -lwebp
 *   ./convert-floor WIDTH PHOTOS_DIR OUTPUTS_DIR
 *
 * Times are the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so a busy machine
 * inflates them less than wall time. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <turbojpeg.h>
#include <webp/decode.h>
#include <webp/encode.h>

static double cpu(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static unsigned char *slurp(const char *path, long *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  *size = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *bytes = malloc(*size);
  if (bytes && fread(bytes, 1, *size, f) != (size_t)*size) {
    free(bytes);
    bytes = NULL;
  }
  fclose(f);
  return bytes;
}

/* Calls `each` with the path of every file in `dir` whose name ends with `suffix`. */
static int walk(const char *dir, const char *suffix, void (*each)(const char *, void *), void *state) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  struct dirent *e;
  char path[4096];
  while ((e = readdir(d))) {
    size_t n = strlen(e->d_name), s = strlen(suffix);
    if (n > s && strcmp(e->d_name + n - s, suffix) == 0) {
      snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
      each(path, state);
    }
  }
  closedir(d);
  return 0;
}

struct decoding {
  long width, files;
  double seconds;
  unsigned char *buffer;
  size_t capacity;
};

static void decode(const char *path, void *state) {
  struct decoding *s = state;
  long size;
  unsigned char *bytes = slurp(path, &size);
  if (!bytes) return;
  tjhandle tj = tjInitDecompress();
  int w, h, subsampling, colourspace;
  if (tjDecompressHeader3(tj, bytes, size, &w, &h, &subsampling, &colourspace) == 0) {
    long tw = w > s->width ? s->width : w, th = (long)h * tw / w;
    int denom = 1;
    for (int d = 8; d >= 2; d /= 2)
      if (2 * (w / d) >= 3 * tw && 2 * (h / d) >= 3 * th) {
        denom = d;
        break;
      }
    int dw = (w + denom - 1) / denom, dh = (h + denom - 1) / denom;
    size_t need = (size_t)dw * dh * 3;
    if (need > s->capacity) { /* kept between files, as ferrotype keeps its buffer */
      free(s->buffer);
      s->buffer = malloc(need);
      s->capacity = need;
    }
    int flags = denom > 1 ? TJFLAG_FASTDCT | TJFLAG_FASTUPSAMPLE : 0;
    double start = cpu();
    if (tjDecompress2(tj, bytes, size, s->buffer, dw, 0, dh, TJPF_RGB, flags) == 0) s->files++;
    s->seconds += cpu() - start;
  }
  tjDestroy(tj);
  free(bytes);
}

struct encoding {
  long files;
  double seconds[2];
  size_t bytes[2];
};

static void encode(const char *path, void *state) {
  struct encoding *s = state;
  long size;
  unsigned char *bytes = slurp(path, &size);
  int w, h;
  uint8_t *rgb = bytes ? WebPDecodeRGB(bytes, size, &w, &h) : NULL;
  free(bytes);
  if (!rgb) return;
  const int efforts[2] = {4, 2};
  for (int i = 0; i < 2; i++) {
    double start = cpu();
    WebPConfig config;
    WebPPicture picture;
    WebPMemoryWriter out;
    WebPConfigPreset(&config, WEBP_PRESET_DEFAULT, 80);
    config.method = efforts[i];
    WebPPictureInit(&picture);
    picture.width = w;
    picture.height = h;
    WebPMemoryWriterInit(&out);
    picture.writer = WebPMemoryWrite;
    picture.custom_ptr = &out;
    if (WebPPictureImportRGB(&picture, rgb, w * 3) && WebPEncode(&config, &picture)) {
      s->bytes[i] += out.size;
    }
    s->seconds[i] += cpu() - start;
    WebPPictureFree(&picture);
    WebPMemoryWriterClear(&out);
  }
  s->files++;
  WebPFree(rgb);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s WIDTH PHOTOS_DIR OUTPUTS_DIR\n", argv[0]);
    return 2;
  }
  struct decoding d = {.width = atol(argv[1])};
  struct encoding e = {0};
  if (walk(argv[2], ".jpg", decode, &d) || walk(argv[3], ".webp", encode, &e)) {
    perror("convert-floor");
    return 1;
  }
  printf("decode %ld JPEGs: %.2f s CPU\n", d.files, d.seconds);
  printf("encode %ld WebPs, effort 4: %.2f s CPU, %zu bytes\n", e.files, e.seconds[0], e.bytes[0]);
  printf("encode %ld WebPs, effort 2: %.2f s CPU, %zu bytes\n", e.files, e.seconds[1], e.bytes[1]);
  printf("floor %.2f\n", d.seconds + e.seconds[0]);
  return 0;
}
