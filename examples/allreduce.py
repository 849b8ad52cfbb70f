"""Sums the ranks' numbers with mpi4py's allreduce: every rank prints the
total, which must be n(n-1)/2 for n ranks."""
from mpi4py import MPI

comm = MPI.COMM_WORLD
total = comm.allreduce(comm.Get_rank(), op=MPI.SUM)
print(f"rank {comm.Get_rank()} of {comm.Get_size()} on {MPI.Get_processor_name()}: sum of ranks = {total}")
