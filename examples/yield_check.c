/* Prints, from rank 0, the mpi_yield_when_idle value mpirun handed the
   ranks (or "unset"), so a test can see what `swarmpi run` chose. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    const char *value = getenv("OMPI_MCA_mpi_yield_when_idle");
    if (rank == 0) printf("yield=%s\n", value ? value : "unset");
    MPI_Finalize();
    return 0;
}
