# append.tcl - real-program workload for tclsh: build one big string with
# `append` (a generated document, a protocol buffer assembled in a script).
# Tcl doubles a string's buffer when it runs out, by realloc (blocks above
# its own small-block pools come from malloc).
#   tclsh append.tcl MIB
# Prints the length and a checksum of 4096 samples of the string.
set target [expr {[lindex [concat $argv 256] 0] * 1024 * 1024}]
set pool {}
set seed 12345
for {set i 0} {$i < 64} {incr i} {
	set seed [expr {($seed * 1103515245 + 12345) % 2147483648}]
	set len [expr {1000 + $seed % 7192}]
	set row ""
	for {set j 0} {$j < 64} {incr j} {
		append row [format %c [expr {97 + ($i * 7 + $j * 13) % 26}]]
	}
	lappend pool "[string range [string repeat $row [expr {$len / 64 + 1}]] 0 [expr {$len - 1}]]\n"
}
# Count the length as we go: [string length] would make Tcl build a
# Unicode copy of the whole string on each call.
set s ""
set i 0
set n 0
while {$n < $target} {
	set c [lindex $pool [expr {$i % 64}]]
	append s $c
	incr n [string length $c]
	incr i
}
set sum 0
for {set k 0} {$k < 4096} {incr k} {
	set at [expr {$k * ($n - 16) / 4095}]
	binary scan [string range $s $at [expr {$at + 15}]] cu* bytes
	foreach b $bytes { set sum [expr {($sum + $b) % 4294967296}] }
}
puts "length $n checksum $sum"
