// EventHub: visibility, coalescing, bounded queues, stream limits, lines filtering, close.
#include "api/event_hub.h"

#include <gtest/gtest.h>

#include <future>
#include <map>
#include <thread>

#include "api/json.h"

namespace vfax::api {
namespace {

using namespace std::chrono_literals;

core::Fax fax(std::int64_t id, std::optional<std::int64_t> device, core::FaxState state,
              int pages = 0) {
  core::Fax f;
  f.id = id;
  f.direction = core::Direction::Out;
  f.deviceId = device;
  f.state = state;
  f.pages = pages;
  f.pagesTotal = 3;
  return f;
}

Visibility devices(std::vector<std::int64_t> ids) { return Visibility{false, std::move(ids)}; }
const Visibility kAll{true, {}};

Json data(const StreamEvent& e) { return Json::parse(e.data); }

TEST(EventHub, EachStreamSeesOnlyTheFaxesItMaySee) {
  EventHub hub;
  auto admin = *hub.subscribe(1, kAll);
  auto ann = *hub.subscribe(2, devices({10}));
  auto bob = *hub.subscribe(3, devices({20}));
  hub.onFaxStateChanged(fax(100, 10, core::FaxState::Queued), core::FaxState::Queued);
  hub.onFaxStateChanged(fax(101, 20, core::FaxState::Queued), core::FaxState::Queued);
  hub.onFaxStateChanged(fax(102, std::nullopt, core::FaxState::Receiving),
                        core::FaxState::Receiving);

  auto a = admin->wait(0ms);
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(data(a[0])["id"], 100);
  EXPECT_EQ(data(a[2])["id"], 102);
  auto n = ann->wait(0ms);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].name, "fax");
  EXPECT_EQ(data(n[0]), toJson(fax(100, 10, core::FaxState::Queued)));
  auto b = bob->wait(0ms);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(data(b[0])["id"], 101);
  EXPECT_TRUE(bob->wait(0ms).empty());
}

TEST(EventHub, PendingChangesOfAFaxAreCoalescedIntoItsNewestState) {
  EventHub hub;
  auto s = *hub.subscribe(1, kAll);
  hub.onFaxStateChanged(fax(1, 10, core::FaxState::Dialing), core::FaxState::Waiting);
  hub.onFaxStateChanged(fax(2, 10, core::FaxState::Queued), core::FaxState::Queued);
  hub.onFaxProgress(fax(1, 10, core::FaxState::Sending, 1));
  hub.onFaxProgress(fax(1, 10, core::FaxState::Sending, 2));
  auto e = s->wait(0ms);
  ASSERT_EQ(e.size(), 2u);  // fax 1 keeps its place, with its newest state
  EXPECT_EQ(data(e[0])["id"], 1);
  EXPECT_EQ(data(e[0])["pages"], 2);
  EXPECT_EQ(data(e[0])["state"], "sending");
  EXPECT_EQ(data(e[1])["id"], 2);
  // Once written, the next change is an event of its own.
  hub.onFaxStateChanged(fax(1, 10, core::FaxState::Done, 3), core::FaxState::Sending);
  e = s->wait(0ms);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(data(e[0])["state"], "done");
}

TEST(EventHub, ADeletionReplacesWhatWasPendingForTheFax) {
  EventHub hub;
  auto s = *hub.subscribe(1, devices({10}));
  hub.onFaxStateChanged(fax(1, 10, core::FaxState::Done), core::FaxState::Sending);
  hub.onFaxDeleted(fax(1, 10, core::FaxState::Done));
  hub.onFaxDeleted(fax(2, 99, core::FaxState::Done));  // not theirs
  auto e = s->wait(0ms);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].name, "fax_deleted");
  EXPECT_EQ(data(e[0]), Json({{"id", 1}}));
}

TEST(EventHub, AStreamTooFarBehindIsEndedAndOthersGoOn) {
  EventHub hub(EventHubOptions{.maxStreams = 4, .maxStreamsPerUser = 4, .maxQueued = 3});
  auto slow = *hub.subscribe(1, kAll);
  auto fast = *hub.subscribe(2, kAll);
  for (int i = 1; i <= 3; ++i) hub.onFaxProgress(fax(i, 10, core::FaxState::Sending, 1));
  EXPECT_EQ(fast->wait(0ms).size(), 3u);
  // Changes of faxes already pending cost no room.
  for (int i = 1; i <= 3; ++i) hub.onFaxProgress(fax(i, 10, core::FaxState::Sending, 2));
  EXPECT_FALSE(slow->closed());
  EXPECT_EQ(fast->wait(0ms).size(), 3u);
  hub.onFaxProgress(fax(4, 10, core::FaxState::Sending, 1));  // a fourth fax: too far behind
  EXPECT_TRUE(slow->closed());
  EXPECT_EQ(slow->closeReason(), "too_slow");
  EXPECT_TRUE(slow->wait(1s).empty());  // at once
  EXPECT_EQ(fast->wait(0ms).size(), 1u);
  EXPECT_FALSE(fast->closed());
}

TEST(EventHub, StreamLimitsInAllAndPerUser) {
  EventHub hub(EventHubOptions{.maxStreams = 3, .maxStreamsPerUser = 2, .maxQueued = 8});
  auto a1 = hub.subscribe(1, kAll);
  auto a2 = hub.subscribe(1, kAll);
  ASSERT_TRUE(a1 && a2);
  auto a3 = hub.subscribe(1, kAll);
  ASSERT_FALSE(a3);
  EXPECT_EQ(a3.error().code, "too_many_streams");
  auto b1 = hub.subscribe(2, kAll);
  ASSERT_TRUE(b1);
  auto b2 = hub.subscribe(2, kAll);
  ASSERT_FALSE(b2);
  EXPECT_EQ(b2.error().code, "too_many_streams");
  EXPECT_EQ(hub.streams(), 3);
  a1->reset();  // a closed stream frees its place
  EXPECT_EQ(hub.streams(), 2);
  EXPECT_TRUE(hub.subscribe(1, kAll));
}

TEST(EventHub, LinesAreCoalescedAndFilteredPerStream) {
  EventHub hub;
  auto admin = *hub.subscribe(1, kAll);
  auto ann = *hub.subscribe(2, devices({10}));
  Json lines = {{"total", 4},
                {"calls",
                 {{{"fax", 1}, {"device", 10}},
                  {{"fax", 2}, {"device", 20}},
                  {{"fax", 3}, {"device", nullptr}}}}};
  hub.publishLines({{"total", 4}, {"calls", Json::array()}});
  hub.publishLines(lines);  // only the newest is written
  auto a = admin->wait(0ms);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].name, "lines");
  EXPECT_EQ(data(a[0]), lines);
  auto n = ann->wait(0ms);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(data(n[0])["calls"], Json({{{"fax", 1}, {"device", 10}}}));
  EXPECT_EQ(data(n[0])["total"], 4);
  // Visibility follows the caller's devices.
  ann->setVisibility(devices({20}));
  hub.publishLines(lines);
  n = ann->wait(0ms);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(data(n[0])["calls"], Json({{{"fax", 2}, {"device", 20}}}));
}

TEST(EventHub, CloseWakesEveryWaitingStreamAtOnceAndRefusesNewOnes) {
  EventHub hub;
  auto s = *hub.subscribe(1, kAll);
  auto waiting = std::async(std::launch::async, [&] { return s->wait(std::chrono::hours(1)); });
  hub.close();
  // Not the hour: the close wakes it.
  ASSERT_EQ(waiting.wait_for(60s), std::future_status::ready);
  EXPECT_TRUE(waiting.get().empty());
  EXPECT_TRUE(s->closed());
  EXPECT_EQ(s->closeReason(), "stopping");
  auto again = hub.subscribe(2, kAll);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, "unavailable");
  hub.reopen();
  EXPECT_TRUE(hub.subscribe(2, kAll));
}

TEST(EventHub, AReaderOnAnotherThreadEndsWithEveryFaxsNewestState) {
  EventHub hub;
  auto s = *hub.subscribe(1, kAll);
  constexpr int kFaxes = 50, kPages = 200;
  std::map<std::int64_t, int> last;
  std::thread reader([&] {
    int finals = 0, idle = 0;
    while (finals < kFaxes && idle < 30) {  // 30 s without events: lost ones, a failure below
      auto events = s->wait(1s);
      idle = events.empty() ? idle + 1 : 0;
      for (const auto& e : events) {
        const Json j = data(e);
        const int pages = j["pages"].get<int>();
        auto& seen = last[j["id"].get<std::int64_t>()];
        EXPECT_GT(pages, seen);  // never an older state after a newer one
        seen = pages;
        if (pages == kPages) ++finals;
      }
      if (s->closed()) break;
    }
  });
  for (int p = 1; p <= kPages; ++p) {
    for (int f = 1; f <= kFaxes; ++f) hub.onFaxProgress(fax(f, 10, core::FaxState::Sending, p));
  }
  reader.join();
  EXPECT_FALSE(s->closed());
  ASSERT_EQ(last.size(), static_cast<std::size_t>(kFaxes));
  for (const auto& [id, pages] : last) EXPECT_EQ(pages, kPages) << "fax " << id;
}

TEST(EventHub, FaxChangesAreCountedEvenWithoutStreams) {
  EventHub hub;
  EXPECT_EQ(hub.faxChanges(), 0u);
  hub.onFaxStateChanged(fax(1, 10, core::FaxState::Queued), core::FaxState::Queued);
  hub.onFaxDeleted(fax(1, 10, core::FaxState::Done));
  EXPECT_EQ(hub.faxChanges(), 2u);
}

}  // namespace
}  // namespace vfax::api
