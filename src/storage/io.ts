/**
 * The read size of every streaming pass over a backup file (hashing, following, encrypting,
 * uploading parts). Large enough that per-chunk work is negligible next to the bytes; small enough
 * that the buffers in flight — a few per pass, several passes at once — stay a few megabytes, which
 * keeps the worker's memory flat whatever the database size.
 */
export const IO_CHUNK_SIZE = 256 * 1024;
