#include "udp/flow_table.h"

#include <cassert>
#include <cstring>

namespace rampart::udp {

size_t FlowKeyHash::operator()(const FlowKey& k) const {
  // Fixed layout (no padding bytes): listener, client address and port, edge address, families.
  uint8_t buf[8 + 16 + 2 + 16 + 2] = {};
  const uint64_t listener = reinterpret_cast<uintptr_t>(k.listener);
  std::memcpy(buf, &listener, 8);
  std::memcpy(buf + 8, k.ip.bytes(), k.ip.size());
  std::memcpy(buf + 24, &k.port, 2);
  std::memcpy(buf + 26, k.edge_ip.bytes(), k.edge_ip.size());
  buf[42] = static_cast<uint8_t>(k.ip.family());
  buf[43] = static_cast<uint8_t>(k.edge_ip.family());
  return static_cast<size_t>(core::siphash13(key, buf, sizeof buf));
}

void FlowTable::link_front(List& l, FlowNode* f, bool all) {
  FlowNode*& prev = all ? f->all_prev : f->app_prev;
  FlowNode*& next = all ? f->all_next : f->app_next;
  prev = nullptr;
  next = l.head;
  if (l.head != nullptr) (all ? l.head->all_prev : l.head->app_prev) = f;
  l.head = f;
  if (l.tail == nullptr) l.tail = f;
  ++l.size;
}

void FlowTable::unlink(List& l, FlowNode* f, bool all) {
  FlowNode*& prev = all ? f->all_prev : f->app_prev;
  FlowNode*& next = all ? f->all_next : f->app_next;
  if (prev != nullptr)
    (all ? prev->all_next : prev->app_next) = next;
  else
    l.head = next;
  if (next != nullptr)
    (all ? next->all_prev : next->app_prev) = prev;
  else
    l.tail = prev;
  prev = next = nullptr;
  --l.size;
}

FlowNode* FlowTable::find(const FlowKey& key) const {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : it->second;
}

void FlowTable::insert(FlowNode* f, int64_t now_ms) {
  assert(!f->in_table);
  f->last_ms = now_ms;
  f->in_table = true;
  index_[f->key] = f;
  const Class c = class_of(f);
  link_front(all_[c], f, true);
  link_front(apps_[f->app].by_class[c], f, false);
}

void FlowTable::touch(FlowNode* f, int64_t now_ms) {
  f->last_ms = now_ms;
  const Class c = class_of(f);
  if (all_[c].head != f) {
    unlink(all_[c], f, true);
    link_front(all_[c], f, true);
  }
  List& l = apps_[f->app].by_class[c];
  if (l.head != f) {
    unlink(l, f, false);
    link_front(l, f, false);
  }
}

void FlowTable::reclass(FlowNode* f, Class from) {
  AppLists& a = apps_[f->app];
  unlink(all_[from], f, true);
  unlink(a.by_class[from], f, false);
  const Class to = class_of(f);
  link_front(all_[to], f, true);
  link_front(a.by_class[to], f, false);
}

void FlowTable::answered(FlowNode* f) {
  if (f->replied) return;
  const Class from = class_of(f);
  f->replied = true;
  if (class_of(f) != from) reclass(f, from);
}

void FlowTable::confirm(FlowNode* f) {
  if (f->confirmed) return;
  const Class from = class_of(f);
  f->confirmed = true;
  reclass(f, from);
}

void FlowTable::remove(FlowNode* f) {
  assert(f->in_table);
  f->in_table = false;
  index_.erase(f->key);
  const Class c = class_of(f);
  unlink(all_[c], f, true);
  auto it = apps_.find(f->app);
  unlink(it->second.by_class[c], f, false);
  if (it->second.size() == 0) apps_.erase(it);
}

FlowNode* FlowTable::victim(const std::string& app) const {
  if (FlowNode* f = unconfirmed_victim(app)) return f;
  if (app.empty()) return all_[kConfirmed].tail;
  auto it = apps_.find(app);
  return it == apps_.end() ? nullptr : it->second.by_class[kConfirmed].tail;
}

FlowNode* FlowTable::unconfirmed_victim(const std::string& app) const {
  const List* lists = all_;
  if (!app.empty()) {
    auto it = apps_.find(app);
    if (it == apps_.end()) return nullptr;
    lists = it->second.by_class;
  }
  return lists[kAnswered].tail != nullptr ? lists[kAnswered].tail : lists[kAwaiting].tail;
}

size_t FlowTable::app_size(const std::string& app) const {
  auto it = apps_.find(app);
  return it == apps_.end() ? 0 : it->second.size();
}

void FlowTable::expire(int64_t now_ms, const std::function<void(FlowNode*)>& fn) {
  std::vector<FlowNode*> expired;
  for (auto& [app, lists] : apps_) {
    for (const List& list : lists.by_class) {
      for (FlowNode* f = list.tail; f != nullptr && now_ms - f->last_ms >= f->idle_ms;
           f = f->app_prev) {
        expired.push_back(f);
      }
    }
  }
  for (FlowNode* f : expired) {
    remove(f);
    fn(f);
  }
}

void FlowTable::for_each(const std::function<void(FlowNode*)>& fn) const {
  for (const List& list : all_)
    for (FlowNode* f = list.head; f != nullptr; f = f->all_next) fn(f);
}

}  // namespace rampart::udp
