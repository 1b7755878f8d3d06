// SPDX-License-Identifier: MIT
// consumer.cpp — a C++ program outside the library's sources, using examples/postpyro.hpp:
// built and run by tests/consumers/run.sh against the test server (argv[1]: its DSN).
#include "postpyro.hpp"

#include <cstdio>
#include <cstring>

static int failures;
#define EXPECT(cond)                                                                        \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            std::fprintf(stderr, "consumer.cpp:%d: %s\n", __LINE__, #cond);                 \
            failures++;                                                                     \
        }                                                                                   \
    } while (0)

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    postpyro::connection db(argv[1]);
    db.exec("CREATE TEMP TABLE cpp_t (id int PRIMARY KEY, name text)");
    std::string name = "caf\xc3\xa9";
    auto ins = db.exec("INSERT INTO cpp_t VALUES ($1, $2), ($3, NULL)",
                       {postpyro::integer(1), postpyro::text(name), postpyro::integer(2)});
    EXPECT(ins.affected() == 2);
    auto r = db.exec("SELECT id, name FROM cpp_t ORDER BY id");
    EXPECT(r.rows() == 2 && r.columns() == 2);
    EXPECT(r.get_int(0, r.column("id")) == 1);
    EXPECT(r.get_text(0, r.column("name")) == name);
    EXPECT(r.is_null(1, 1));
    postpyro::result moved = std::move(r);
    EXPECT(moved.rows() == 2);
    try {
        db.exec("INSERT INTO cpp_t VALUES (1, 'again')");
        EXPECT(!"a duplicate key was accepted");
    } catch (const postpyro::error &e) {
        EXPECT(e.category() == PP_ERR_INTEGRITY);
        EXPECT(e.sqlstate() == "23505");
        EXPECT(e.origin() == PP_ORIGIN_SERVER);
        EXPECT(std::strstr(e.what(), "DETAIL:  Key (id)=(1) already exists.") != nullptr);
    }
    bool thrown = false;
    try {
        db.exec("SELEC 1");
    } catch (const postpyro::error &e) {
        thrown = std::strstr(e.what(), "LINE 1: SELEC 1") != nullptr;
    }
    EXPECT(thrown);
    EXPECT(!db.parameter("server_version").empty());
    std::string lit = postpyro::connection::literal("it's");
    EXPECT(db.exec("SELECT " + lit).get_text(0, 0) == "it's");
    EXPECT(postpyro::connection::identifier("Odd \"name\"") == "\"Odd \"\"name\"\"\"");
    std::printf("C++ consumer: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
