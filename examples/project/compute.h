/* The part of the input each rank sums. */
#ifndef COMPUTE_H
#define COMPUTE_H

long partial_sum(const long *values, int count, int rank, int size);

#endif
