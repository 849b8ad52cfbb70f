/* swarmpi bench's ping-pong between ranks 0 and 1: 8-byte latency (half a
   round trip) and 4 MiB bandwidth (one way). Rank 0 prints
   "latency_us X" as soon as it is known, then "bandwidth_mbs Y", so a
   pair whose large messages never arrive still reports its latency. Each
   phase runs for about half a second, however slow the pair. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#define SMALL 8
#define LARGE (4 << 20)

static double round_trips(char *buf, int size, int count, int rank) {
    MPI_Barrier(MPI_COMM_WORLD);
    double start = MPI_Wtime();
    for (int i = 0; i < count; i++) {
        if (rank == 0) {
            MPI_Send(buf, size, MPI_CHAR, 1, 0, MPI_COMM_WORLD);
            MPI_Recv(buf, size, MPI_CHAR, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else if (rank == 1) {
            MPI_Recv(buf, size, MPI_CHAR, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Send(buf, size, MPI_CHAR, 0, 0, MPI_COMM_WORLD);
        }
    }
    return MPI_Wtime() - start;
}

/* How many round trips of `size` fill `seconds`, from a short trial; rank 0
   decides for both. */
static int count_for(char *buf, int size, int trial, double seconds, int most, int rank) {
    double took = round_trips(buf, size, trial, rank);
    int count = took > 0 ? (int)(seconds * trial / took) : most;
    if (count < trial) count = trial;
    if (count > most) count = most;
    MPI_Bcast(&count, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return count;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank = 0, size = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size != 2) {
        if (rank == 0) fprintf(stderr, "pingpong needs exactly 2 ranks, got %d\n", size);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    char *buf = calloc(LARGE, 1);
    int count = count_for(buf, SMALL, 20, 0.5, 200000, rank);
    double took = round_trips(buf, SMALL, count, rank);
    if (rank == 0) {
        printf("latency_us %.2f\n", took / count / 2 * 1e6);
        fflush(stdout);
    }
    count = count_for(buf, LARGE, 2, 0.5, 500, rank);
    took = round_trips(buf, LARGE, count, rank);
    if (rank == 0) {
        printf("bandwidth_mbs %.1f\n", 2.0 * LARGE * count / took / 1e6);
        fflush(stdout);
    }
    free(buf);
    MPI_Finalize();
    return 0;
}
