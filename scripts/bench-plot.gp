# bench-plot.gp - realloc cost against block size, one line per allocator.
#   gnuplot -c scripts/bench-plot.gp DATADIR "GROW1_ALLOCS" OUTFILE png|svg TITLE "DOUBLE_ALLOCS"
# Called by scripts/bench.sh, which writes DATADIR/WORKLOAD.ALLOCATOR.dat
# (two columns: block size in MiB, milliseconds; medians over repetitions):
#   grow1.*.dat       cumulative time inside realloc while one buffer grows
#                     by fixed steps, against the size reached
#   growdouble.*.dat  time of the one realloc that doubled the block to
#                     this size
# An empty allocator list leaves its panel out (the workload did not run).
# Log-log: the allocators differ by orders of magnitude.
dir = ARG1
grow1 = ARG2
double = ARG6
# Fixed colours per allocator, so plots from different runs compare at a glance.
colour(a) = a eq "rezone" ? "#d62728" : a eq "system" ? "#404040" : a eq "jemalloc" ? "#1f77b4" : \
	a eq "mimalloc" ? "#ff7f0e" : a eq "tcmalloc" ? "#2ca02c" : "#9467bd"
panels = (words(grow1) > 0) + (words(double) > 0)
if (ARG4 eq "svg") {
	set terminal svg size 600 * panels + 100,520 dynamic font "sans,12"
} else {
	set terminal pngcairo size 600 * panels + 100,520 font "sans,10"
}
set output ARG3
set multiplot layout 1,panels title "realloc cost against block size (".ARG5.")" noenhanced
set logscale xy
set grid
set key top left
set format x "%g"
set format y "%g"
if (words(grow1) > 0) {
	set xlabel "buffer size (MiB)"
	set ylabel "cumulative time inside realloc (ms)"
	set title "grow1: one buffer grown by fixed steps"
	plot for [i=1:words(grow1)] dir."/grow1.".word(grow1, i).".dat" using 1:2 \
		with lines linecolor rgb colour(word(grow1, i)) linewidth 2 title word(grow1, i)
}
if (words(double) > 0) {
	set xlabel "block size after the realloc (MiB)"
	set ylabel "time of that realloc (ms)"
	set title "growdouble: one buffer doubled"
	plot for [i=1:words(double)] dir."/growdouble.".word(double, i).".dat" using 1:2 \
		with linespoints linecolor rgb colour(word(double, i)) linewidth 2 pointtype 7 \
		title word(double, i)
}
unset multiplot
