# strcat.pl - real-program workload for perl: build one big string by
# appending chunks (a report, a serialized document, a slurped log).
# perl grows a string by realloc to 1.25 times what it needs, so reaching
# N MiB takes some 60 reallocs of ever larger blocks: an allocator that
# copies moves about 4 times the final size, one that remaps moves nothing.
#   perl strcat.pl MIB
# Prints the length and a checksum of 4096 samples of the string.
use strict;
use warnings;

my $target = (shift // 256) * 1024 * 1024;
my @pool;
my $seed = 12345;
for my $i (0 .. 63) {
	$seed = ($seed * 1103515245 + 12345) % 2147483648;
	my $len = 1000 + $seed % 7192;
	push @pool, join('', map { chr(97 + ($i * 7 + $_ * 13) % 26) } 0 .. 63) x ($len / 64 + 1);
	$pool[-1] = substr($pool[-1], 0, $len) . "\n";
}
my $s = '';
my $i = 0;
$s .= $pool[$i++ % 64] while length($s) < $target;
my $n = length($s);
my $samples = join('', map { substr($s, int($_ * ($n - 16) / 4095), 16) } 0 .. 4095);
printf "length %d checksum %d\n", $n, unpack('%32C*', $samples);
