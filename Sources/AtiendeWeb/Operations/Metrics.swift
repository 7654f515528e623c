import Foundation
import Metrics
import NIOConcurrencyHelpers
import Prometheus

/// The process's Prometheus registry. swift-metrics can be bootstrapped once per process, so this happens once.
public enum AtiendeMetrics {
    public static let registry = PrometheusCollectorRegistry()
    private static let bootstrapped = NIOLockedValueBox(false)

    public static func bootstrap() {
        let first = bootstrapped.withLockedValue { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    static let ingested = Counter(label: "atiende_messages_ingested_total")
    static let duplicates = Counter(label: "atiende_messages_duplicate_total")
    static let ingestSeconds = Metrics.Timer(label: "atiende_ingest_duration_seconds")
}
