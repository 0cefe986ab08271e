/* Runs a fuzz target over files, without libFuzzer: the regression inputs and the seed
 * corpus are replayed this way in every ordinary build (and under the sanitizers in CI). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
        int ran = 0;

        for (int i = 1; i < argc; i++) {
                FILE *f = fopen(argv[i], "rb");
                uint8_t *buf;
                long len;

                if (!f) {
                        perror(argv[i]);
                        return 1;
                }
                fseek(f, 0, SEEK_END);
                len = ftell(f);
                rewind(f);
                buf = malloc((size_t)len + 1);
                if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
                        fprintf(stderr, "%s: read failed\n", argv[i]);
                        return 1;
                }
                fclose(f);
                LLVMFuzzerTestOneInput(buf, (size_t)len);
                free(buf);
                ran++;
        }
        printf("replayed %d input(s)\n", ran);
        return 0;
}
