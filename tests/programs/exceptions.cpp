// Throws and catches thousands of exceptions through several frames that own
// strings and vectors, so that unwinding runs destructors and frees memory.
// Its output is a digest of what it caught: the same with and without the
// tracer, if the tracer leaves C++ unwinding alone.
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

namespace
{

struct Custom {
        int code;
        std::string what;
};

unsigned long digest = 1469598103934665603ul;

void mix(const std::string &s)
{
        for (unsigned char c : s)
                digest = (digest ^ c) * 1099511628211ul;
}

[[gnu::noinline]] void level3(int i)
{
        std::vector<std::string> words{"deep", "in", "level3", std::to_string(i)};
        switch (i % 4) {
        case 0:
                throw std::runtime_error("runtime " + words[3]);
        case 1:
                throw Custom{i, "custom " + words[2]};
        case 2:
                throw i;
        default:
                return;
        }
}

[[gnu::noinline]] void level2(int i)
{
        std::string local(100 + i % 50, 'x');
        try {
                level3(i);
        } catch (const Custom &c) {
                if (c.code % 3 == 0)
                        throw; // rethrow through level1
                mix(c.what);
        }
        mix(local.substr(0, 3));
}

[[gnu::noinline]] void level1(int i)
{
        std::vector<int> v(i % 17 + 1, i);
        level2(i);
        mix(std::to_string(v.size()));
}

} // namespace

int main()
{
        int caught[4] = {0, 0, 0, 0};
        std::exception_ptr saved;
        for (int i = 0; i < 20000; i++) {
                try {
                        level1(i);
                        caught[3]++;
                } catch (const std::runtime_error &e) {
                        caught[0]++;
                        mix(e.what());
                        if (i % 1000 == 0)
                                saved = std::current_exception();
                } catch (const Custom &c) {
                        caught[1]++;
                        mix(c.what);
                } catch (int n) {
                        caught[2]++;
                        digest ^= static_cast<unsigned long>(n);
                }
        }
        try {
                std::rethrow_exception(saved);
        } catch (const std::exception &e) {
                mix(e.what());
        }
        std::printf("runtime_error %d, Custom %d, int %d, none %d\n", caught[0], caught[1],
                    caught[2], caught[3]);
        std::printf("digest %016lx\n", digest);
        return 0;
}
