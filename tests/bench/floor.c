/*
 * The exec floor for sparekey's benchmarks: the least a program answering
 * `sparekey token PROFILE` from a file could do. Linked to libc alone (like
 * build/sparekey), it is exec'd, opens the small file named by argv[1],
 * reads it, and writes its last line to stdout. Nothing else: no
 * environment lookups, no stat of a config file, no hardening calls.
 *
 * Usage: floor FILE
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char buf[16384];
	ssize_t n, len = 0;

	if (argc != 2) {
		return 64;
	}
	int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return 66;
	}
	while (len < (ssize_t)sizeof(buf) &&
	       (n = read(fd, buf + len, sizeof(buf) - (size_t)len)) > 0) {
		len += n;
	}
	close(fd);
	if (len <= 0) {
		return 65;
	}
	/* The last line, as the cache's token line is. */
	ssize_t end = buf[len - 1] == '\n' ? len - 1 : len, start = end;
	while (start > 0 && buf[start - 1] != '\n') {
		start--;
	}
	buf[end] = '\n';
	return write(STDOUT_FILENO, buf + start, (size_t)(end - start + 1)) == end - start + 1 ? 0
											       : 74;
}
