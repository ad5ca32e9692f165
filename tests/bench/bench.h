/* What the benchmark programs share. */
#pragma once

#include <stdlib.h>

/* Sorts n doubles ascending (for medians and percentiles). */
static inline int dk_bench_compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static inline void dk_bench_sort(double *values, size_t n)
{
	qsort(values, n, sizeof values[0], dk_bench_compare_double);
}
