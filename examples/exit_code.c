/* Exits with the code given as its first argument (rank 0 only), to check
   that swarmpi passes the job's exit code through. */
#include <mpi.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    int code = argc > 1 ? atoi(argv[1]) : 0;
    MPI_Finalize();
    return rank == 0 ? code : 0;
}
