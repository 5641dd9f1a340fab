// File: queue_metric_names.h
// The queue server's metric names, spelled only here: the code that registers them and the
// analyzer source that reads them (queue_perf.cc) both use these constants.
#pragma once

namespace pier::queue::metric_names {

inline constexpr char kReadyMessages[] = "pier_queue_ready_messages";
inline constexpr char kInFlightMessages[] = "pier_queue_in_flight_messages";
inline constexpr char kDelayedMessages[] = "pier_queue_delayed_messages";
inline constexpr char kDeadMessages[] = "pier_queue_dead_messages";
inline constexpr char kOldestReadyAgeSeconds[] = "pier_queue_oldest_ready_age_seconds";
inline constexpr char kPublishedTotal[] = "pier_queue_published_total";
inline constexpr char kAckedTotal[] = "pier_queue_acked_total";
inline constexpr char kNackedTotal[] = "pier_queue_nacked_total";
inline constexpr char kRedeliveredTotal[] = "pier_queue_redelivered_total";
inline constexpr char kDeadLetteredTotal[] = "pier_queue_dead_lettered_total";
inline constexpr char kLogFramesTotal[] = "pier_queue_log_frames_total";
inline constexpr char kLogBytesTotal[] = "pier_queue_log_bytes_total";
inline constexpr char kLogFsyncsTotal[] = "pier_queue_log_fsyncs_total";
inline constexpr char kLogSegments[] = "pier_queue_log_segments";
inline constexpr char kResidentPayloadBytes[] = "pier_queue_resident_payload_bytes";
inline constexpr char kDeliveriesPerMessage[] = "pier_queue_deliveries_per_message";
inline constexpr char kConsumeCallsTotal[] = "pier_queue_consume_calls_total";
inline constexpr char kConsumedMessagesTotal[] = "pier_queue_consumed_messages_total";
inline constexpr char kConsumeBatch[] = "pier_queue_consume_batch";
inline constexpr char kStageSeconds[] = "pier_queue_stage_seconds";

}  // namespace pier::queue::metric_names
