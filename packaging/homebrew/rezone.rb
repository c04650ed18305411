# rezone.rb - Homebrew formula for rezone, built from a release tarball
# (`make dist`: configure is generated, so no autotools are needed to build).
# Not run on the Linux machines rezone is developed on: the macOS workflow
# (.github/workflows/macos.yml, job "homebrew") installs it with
# `brew install --build-from-source` from a local tap and runs `brew test`,
# pointing url/sha256 at the tarball it has just made.
class Rezone < Formula
  desc "Drop-in allocator whose realloc grows large blocks in place"
  homepage "https://github.com/rezone/rezone"
  url "https://github.com/rezone/rezone/releases/download/v0.1.0/rezone-0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  # No license has been chosen yet (see debian/copyright); Homebrew's
  # license field stays unset until there is one.

  depends_on "pkg-config" => :build

  def install
    # Small sizes go to the zone that was the default before rezone (no
    # embeddable jemalloc on macOS).
    system "./configure", "--disable-silent-rules", "--with-small=system",
           *std_configure_args
    system "make"
    system "make", "install"
  end

  test do
    # A program of our own: macOS strips DYLD_INSERT_LIBRARIES for system
    # binaries (SIP), so /bin/sh and friends would run without rezone.
    (testpath/"grow.c").write <<~C
      #include <dlfcn.h>
      #include <stdio.h>
      #include <stdlib.h>
      #include <string.h>
      int main(void)
      {
        const char *(*version)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "rezone_version");
        size_t n = 1 << 20;
        char *p = malloc(n);
        for (; p && n < (32u << 20); n += 1 << 20) {
          p = realloc(p, n + (1 << 20));
          if (p) memset(p + n, 1, 1 << 20);
        }
        if (!p || !version) return 1;
        printf("injected %s\\n", version());
        free(p);
        return 0;
      }
    C
    system ENV.cc, "grow.c", "-o", "grow"
    output = shell_output("REZONE_STATS=1 #{bin}/rezone run ./grow 2>&1")
    assert_match "injected #{version}", output
    assert_match(/^rezone\[\d+\] grow: large_allocs=[1-9]/, output)
    assert_match "command not found", shell_output("#{bin}/rezone run nosuchprogram 2>&1", 127)

    # Linked rather than injected, found with pkg-config.
    (testpath/"linked.c").write <<~C
      #include <rezone.h>
      #include <stdio.h>
      int main(void) { puts(rezone_version()); return 0; }
    C
    flags = shell_output("pkg-config --cflags --libs rezone").split
    system ENV.cc, "linked.c", "-o", "linked", *flags
    assert_equal version.to_s, shell_output("./linked").strip
  end
end
