/* Prints a line, sleeps, prints again: output must stream, not arrive at
   the end. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    int seconds = argc > 1 ? atoi(argv[1]) : 5;
    if (rank == 0) printf("first line\n");
    sleep(seconds);
    if (rank == 0) printf("second line\n");
    MPI_Finalize();
    return 0;
}
