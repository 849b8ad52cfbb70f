// Prints one line per rank: how many ranks there are, which one this is, and
// the container it runs in. The smallest check that a cluster works.
#include <mpi.h>
#include <cstdio>

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int size = 0, rank = 0, name_len = 0;
    char host[MPI_MAX_PROCESSOR_NAME];
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Get_processor_name(host, &name_len);
    std::printf("Size: %d, Rank: %d, Host: %s\n", size, rank, host);
    MPI_Finalize();
    return 0;
}
