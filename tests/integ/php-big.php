<?php
// php-big.php - run by test-php.sh with and without rezone: a 256 MiB
// string grown by appends (realloc of one large block) and a 2M-element
// array (the hash table doubles through the large path), then digests.
$s = '';
for ($i = 0; $i < 256; $i++)
	$s .= str_repeat(chr(65 + $i % 26), 1 << 20);
echo strlen($s), ' ', md5($s), "\n";
$s = null;
$a = [];
for ($i = 0; $i < 2000000; $i++)
	$a[] = $i * 3;
echo count($a), ' ', array_sum($a), ' ', $a[1999999], "\n";
$m = [];
for ($i = 0; $i < 200000; $i++)
	$m["k$i"] = str_repeat('x', $i % 100);
echo count($m), ' ', strlen(implode('', $m)), "\n";
