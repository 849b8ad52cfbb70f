/* Reads numbers from the file named on the command line, sums them over all
 * ranks and has rank 0 write the total to results/sum.txt. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "compute.h"

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc < 2) {
        if (rank == 0) fprintf(stderr, "usage: solver INPUT\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    FILE *in = fopen(argv[1], "r");
    if (!in) {
        perror(argv[1]);
        MPI_Abort(MPI_COMM_WORLD, 3);
    }
    long values[4096];
    int count = 0;
    while (count < 4096 && fscanf(in, "%ld", &values[count]) == 1) count++;
    fclose(in);
    long mine = partial_sum(values, count, rank, size), total = 0;
    MPI_Reduce(&mine, &total, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        mkdir("results", 0755);
        FILE *out = fopen("results/sum.txt", "w");
        fprintf(out, "sum of %d numbers over %d ranks = %ld\n", count, size, total);
        fclose(out);
        printf("rank 0 wrote results/sum.txt: %ld\n", total);
    }
    MPI_Finalize();
    return 0;
}
