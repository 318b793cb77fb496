// SPDX-License-Identifier: Apache-2.0
//
// lemon_clear: the reference timing for the clearing benchmark.  Reads the
// same CSV as clearing_bench (id,debtor,creditor,amount, amounts with two
// fractional digits) and solves the same problem with LEMON's CostScaling.
// By default it uses LEMON's fastest setting measured here: a StaticDigraph
// with one arc per obligation, capacity the amount and cost -1, no supplies
// (a min-cost circulation).  --transport solves the equivalent form with
// cost +1 and the firms' net positions as supplies; --graph builds a
// SmartDigraph or a ListDigraph instead.  These other settings exist to
// measure how much LEMON's time depends on them (docs/benchmarks.md); the
// benchmark uses the default.  Prints the set-off total and the solver's
// seconds (graph building plus run(), not reading).
//
// CostScaling scales costs by the node count and more, in int64: amounts
// near troc's limits (10^13 units) overflow it, and it then crashes or runs
// on (a ring of 23 firms, three of its obligations near 10^13 units: a
// segmentation fault).
// The benchmark's amounts are far below that; troc clear solves such inputs
// within its own documented limits.
//
//   lemon_clear INPUT.csv [--transport] [--graph static|smart|list]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <lemon/cost_scaling.h>
#include <lemon/list_graph.h>
#include <lemon/smart_graph.h>
#include <lemon/static_graph.h>

namespace {

struct Obligation {
    int debtor, creditor;
    int64_t cents;
};

bool parse_cents(const char *text, size_t length, int64_t *cents) {
    int64_t units = 0, fraction = 0;
    size_t i = 0, digits = 0;
    for (; i < length && text[i] >= '0' && text[i] <= '9'; i++) units = units * 10 + (text[i] - '0');
    if (i == 0) return false;
    if (i < length && text[i] == '.') {
        for (i++; i < length && text[i] >= '0' && text[i] <= '9' && digits < 2; i++, digits++) {
            fraction = fraction * 10 + (text[i] - '0');
        }
        if (digits == 0) return false;
        if (digits == 1) fraction *= 10;
    }
    *cents = units * 100 + fraction;
    return i == length;
}

bool read_csv(const char *path, std::vector<Obligation> &out, int &firms) {
    FILE *file = std::fopen(path, "r");
    if (file == nullptr) return false;
    std::unordered_map<std::string, int> index;
    char *line = nullptr;
    size_t size = 0, number = 0;
    auto firm = [&](const char *text, size_t length) {
        auto [it, added] = index.try_emplace(std::string(text, length), (int)index.size());
        return it->second;
    };
    bool ok = true;
    while (ok && getline(&line, &size, file) > 0) {
        if (++number == 1) continue;
        char *c1 = std::strchr(line, ','), *c2 = c1 ? std::strchr(c1 + 1, ',') : nullptr;
        char *c3 = c2 ? std::strchr(c2 + 1, ',') : nullptr;
        if (c3 == nullptr) { ok = false; break; }
        Obligation o;
        o.debtor = firm(c1 + 1, (size_t)(c2 - c1 - 1));
        o.creditor = firm(c2 + 1, (size_t)(c3 - c2 - 1));
        ok = parse_cents(c3 + 1, std::strcspn(c3 + 1, "\r\n"), &o.cents);
        out.push_back(o);
    }
    std::free(line);
    std::fclose(file);
    firms = (int)index.size();
    return ok;
}

// Graph-specific building: StaticDigraph takes all its arcs at once, sorted
// by source; the others add them one by one.  Arc i of the result is the
// obligation order[i] (Static) or i (the others).
template <typename Graph>
void build(Graph &graph, int firms, const std::vector<Obligation> &obligations, std::vector<size_t> &order) {
    std::vector<typename Graph::Node> nodes(firms);
    for (int f = 0; f < firms; f++) nodes[f] = graph.addNode();
    order.resize(obligations.size());
    for (size_t k = 0; k < order.size(); k++) {
        order[k] = k;
        graph.addArc(nodes[obligations[k].debtor], nodes[obligations[k].creditor]);
    }
}

void build(lemon::StaticDigraph &graph, int firms, const std::vector<Obligation> &obligations,
           std::vector<size_t> &order) {
    order.resize(obligations.size());
    for (size_t k = 0; k < order.size(); k++) order[k] = k;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return obligations[a].debtor < obligations[b].debtor; });
    std::vector<std::pair<int, int>> arcs(order.size());
    for (size_t i = 0; i < order.size(); i++) arcs[i] = {obligations[order[i]].debtor, obligations[order[i]].creditor};
    graph.build(firms, arcs.begin(), arcs.end());
}

// Builds the graph and solves; returns the set-off in cents, or -1.
template <typename Graph>
int64_t solve(int firms, const std::vector<Obligation> &obligations, bool transport) {
    Graph graph;
    std::vector<size_t> order;
    build(graph, firms, obligations, order);
    typename Graph::template ArcMap<int64_t> capacity(graph), cost(graph);
    typename Graph::template NodeMap<int64_t> supply(graph, 0);
    int64_t total = 0;
    for (size_t i = 0; i < order.size(); i++) {
        const Obligation &o = obligations[order[i]];
        const typename Graph::Arc arc = graph.arcFromId((int)i);
        capacity[arc] = o.cents;
        cost[arc] = transport ? 1 : -1;
        total += o.cents;
        if (transport) {  // start from "everything remains": debtors supply, creditors demand
            supply[graph.nodeFromId(o.debtor)] += o.cents;
            supply[graph.nodeFromId(o.creditor)] -= o.cents;
        }
    }
    lemon::CostScaling<Graph, int64_t, int64_t> solver(graph);
    solver.upperMap(capacity).costMap(cost).supplyMap(supply);
    if (solver.run() != lemon::CostScaling<Graph, int64_t, int64_t>::OPTIMAL) return -1;
    const int64_t cost_total = solver.template totalCost<int64_t>();
    return transport ? total - cost_total : -cost_total;
}

}  // namespace

int main(int argc, char **argv) {
    bool transport = false;
    const char *graph = "static";
    bool ok = argc >= 2;
    for (int i = 2; ok && i < argc; i++) {
        if (std::strcmp(argv[i], "--transport") == 0) {
            transport = true;
        } else if (std::strcmp(argv[i], "--graph") == 0 && i + 1 < argc) {
            graph = argv[++i];
        } else {
            ok = false;
        }
    }
    using Solve = int64_t (*)(int, const std::vector<Obligation> &, bool);
    Solve solver = std::strcmp(graph, "static") == 0 ? solve<lemon::StaticDigraph>
                   : std::strcmp(graph, "smart") == 0 ? solve<lemon::SmartDigraph>
                   : std::strcmp(graph, "list") == 0  ? solve<lemon::ListDigraph>
                                                      : nullptr;
    if (!ok || solver == nullptr) {
        std::fprintf(stderr, "usage: lemon_clear INPUT.csv [--transport] [--graph static|smart|list]\n");
        return 2;
    }
    std::vector<Obligation> obligations;
    int firms = 0;
    if (!read_csv(argv[1], obligations, firms)) {
        std::fprintf(stderr, "lemon_clear: cannot read %s\n", argv[1]);
        return 2;
    }
    const auto start = std::chrono::steady_clock::now();
    const int64_t cleared = solver(firms, obligations, transport);
    if (cleared < 0) {
        std::fprintf(stderr, "lemon_clear: not optimal\n");
        return 1;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("obligations=%zu firms=%d cleared_cents=%lld solve_seconds=%.3f\n", obligations.size(), firms,
                (long long)cleared, seconds);
    return 0;
}
