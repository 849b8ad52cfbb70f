/* Moves MB_PER_PEER (argv[1], default 24) MiB from every rank to every other
   rank with MPI_Alltoall, three times, and checks every byte: between ranks
   of one container this all goes through shared memory (/dev/shm). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    size_t per_peer = (size_t)(argc > 1 ? atoi(argv[1]) : 24) << 20;
    unsigned char *out = malloc(per_peer * size), *in = malloc(per_peer * size);
    if (!out || !in) MPI_Abort(MPI_COMM_WORLD, 2);
    for (int peer = 0; peer < size; peer++) memset(out + peer * per_peer, (rank * 16 + peer) & 0xff, per_peer);
    long bad = 0;
    for (int round = 0; round < 3; round++) {
        MPI_Alltoall(out, (int)per_peer, MPI_BYTE, in, (int)per_peer, MPI_BYTE, MPI_COMM_WORLD);
        for (int peer = 0; peer < size; peer++)
            for (size_t i = 0; i < per_peer; i += 4096)
                bad += in[peer * per_peer + i] != ((peer * 16 + rank) & 0xff);
    }
    long all_bad = 0;
    MPI_Reduce(&bad, &all_bad, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        long moved = 3L * size * (size - 1) * (long)(per_peer >> 20);
        printf("moved %ld MiB between %d ranks, %ld bad pages\n", moved, size, all_bad);
    }
    free(out);
    free(in);
    MPI_Finalize();
    return all_bad != 0;
}
