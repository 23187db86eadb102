//! The static world the generator draws from: services (a shop modelled on
//! the OpenTelemetry demo), their span operations, metric definitions and
//! log message templates. Everything here is plain data; the signal modules
//! turn it into OTLP records.

/// OTLP `Span.kind` values.
pub const SERVER: i32 = 2;
pub const CLIENT: i32 = 3;
pub const INTERNAL: i32 = 1;
pub const PRODUCER: i32 = 4;
pub const CONSUMER: i32 = 5;

/// Instrumentation scope (name, version).
pub type Scope = (&'static str, &'static str);

/// An SDK language and the instrumentation libraries that go with it.
pub struct Lang {
    /// `telemetry.sdk.language`.
    pub name: &'static str,
    /// `telemetry.sdk.version`.
    pub sdk_version: &'static str,
    /// `process.runtime.name` / `process.runtime.version`, when the SDK sets them.
    pub runtime: Option<(&'static str, &'static str)>,
    pub http_server: Scope,
    pub http_client: Scope,
    pub rpc: Scope,
    pub db: Scope,
    pub messaging: Scope,
    /// Scope of runtime metrics (and the generic process metrics).
    pub runtime_metrics: Scope,
    /// Runtime metrics this SDK reports besides the generic process ones.
    pub metrics: &'static [MetricDef],
    /// Whether log records carry `thread.name` / `thread.id`.
    pub threads: bool,
    /// Python's logging instrumentation copies the trace context into
    /// `otelTraceID` / `otelSpanID` / `otelServiceName` attributes.
    pub otel_log_attrs: bool,
    /// File extension for `code.file.path`.
    pub ext: &'static str,
}

/// Log template families (which services share message templates).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Family {
    Web,
    Commerce,
    Catalog,
}

pub struct Service {
    pub name: &'static str,
    pub version: &'static str,
    pub lang: &'static Lang,
    /// Relative share of requests.
    pub weight: u32,
    /// Distinct `host.name` values (k8s nodes the pods run on).
    pub hosts: u32,
    /// Distinct `k8s.pod.name` values (and `process.pid`).
    pub pods: u32,
    pub region: &'static str,
    pub port: i64,
    /// Old (pre-1.21) semantic conventions for HTTP and DB attributes
    /// (`http.method`, `http.status_code`, `db.statement`, ...).
    pub legacy: bool,
    pub family: Family,
    /// Logs are collected from files (adds `log.file.name`, `log.iostream`).
    pub file_logs: bool,
    pub ops: &'static [Op],
    /// Service-specific metrics (protocol and runtime ones are derived).
    pub metrics: &'static [MetricDef],
    /// Logger names, used as log scopes.
    pub loggers: &'static [&'static str],
}

/// A span operation of a service.
pub struct Op {
    pub name: &'static str,
    pub kind: i32,
    pub weight: u32,
    pub shape: Shape,
    /// Application attributes added to every span of this operation.
    pub app: &'static [App],
}

/// What kind of operation a span is; decides its semantic-convention
/// attributes and its instrumentation scope.
pub enum Shape {
    HttpServer {
        method: &'static str,
        route: &'static str,
    },
    HttpClient {
        method: &'static str,
        peer: &'static str,
        port: i64,
        path: &'static str,
    },
    RpcServer {
        service: &'static str,
        method: &'static str,
    },
    RpcClient {
        service: &'static str,
        method: &'static str,
        peer: &'static str,
        port: i64,
    },
    Db {
        system: &'static str,
        op: &'static str,
        table: &'static str,
        query: &'static str,
        peer: &'static str,
        port: i64,
    },
    Produce {
        dest: &'static str,
    },
    Consume {
        dest: &'static str,
        group: &'static str,
    },
    Internal,
    /// Demo profile only: a badly instrumented server span whose *name*
    /// holds the raw URL (`GET /users/123456`), one name per user.
    UserPage,
}

/// Application-specific span attributes (`app.*` and friends).
#[derive(Clone, Copy, Debug)]
pub enum App {
    ProductId,
    UserId,
    Currency,
    CartItems,
    OrderId,
    OrderAmount,
    OrderItems,
    CardType,
    CardValid,
    Loyalty,
    ShippingZip,
    ShippingCost,
    TrackingId,
    RecProducts,
    RecCache,
    AdCategory,
    AdType,
    QuoteItems,
    QuoteCost,
    FraudScore,
    FraudFlag,
    EmailTo,
    FeatureFlag,
    ImageSize,
    ConvFrom,
    ConvTo,
    ProductsCount,
}

// ---------------------------------------------------------------------------
// Metrics

/// How a metric's values evolve; also decides its OTLP type.
#[derive(Clone, Copy, Debug)]
pub enum Val {
    /// Gauge with values in `lo..hi`.
    Gauge { lo: f64, hi: f64, int: bool },
    /// Monotonic Sum growing at `rate` per second per series.
    Counter { rate: f64, int: bool },
    /// Non-monotonic Sum with values in `lo..hi`.
    UpDown { lo: f64, hi: f64, int: bool },
    /// Histogram with explicit bounds; observations around `median`.
    Hist { bounds: &'static [f64], median: f64 },
    /// Exponential histogram; observations around `median` (> 0).
    ExpHist { median: f64 },
    /// Summary (Prometheus style) with quantiles 0, .25, .5, .75, 1.
    Summary { median: f64 },
}

/// A data point attribute (label) and where its values come from.
#[derive(Clone, Copy, Debug)]
pub enum Dim {
    Str(&'static str, &'static [&'static str]),
    Int(&'static str, &'static [i64]),
    Bool(&'static str),
    /// `http.request.method` + `http.route` of the service's HTTP server ops.
    HttpRoutes,
    /// `rpc.system` + `rpc.service` + `rpc.method` of the service's gRPC server ops.
    RpcServerOps,
    /// Same for the gRPC methods the service calls.
    RpcClientOps,
    /// `server.address` of the HTTP peers the service calls.
    HttpPeers,
    /// `db.system` + `db.operation.name` of the service's DB ops.
    DbOps,
    /// Demo profile only: `user.id` drawn from a million users (one series
    /// per user: the classic exploding metric label).
    ExplodingUser,
}

pub struct MetricDef {
    pub name: &'static str,
    pub unit: &'static str,
    pub desc: &'static str,
    pub val: Val,
    pub dims: &'static [Dim],
    /// Delta temporality (else cumulative) for Sums and histograms.
    pub delta: bool,
    /// Only in the demo profile.
    pub demo_only: bool,
    /// The demo profile's unit, when it differs (a unit the semantic
    /// conventions would not expect, for `semconv_metric_mismatches`).
    pub demo_unit: Option<&'static str>,
    /// The demo profile's monotonicity of a Sum (Counter, UpDown), when it
    /// differs (an instrumentation that records a convention counter with
    /// an UpDownCounter, for `semconv_metric_mismatches`).
    pub demo_monotonic: Option<bool>,
}

const fn m(
    name: &'static str,
    unit: &'static str,
    desc: &'static str,
    val: Val,
    dims: &'static [Dim],
) -> MetricDef {
    MetricDef {
        name,
        unit,
        desc,
        val,
        dims,
        delta: false,
        demo_only: false,
        demo_unit: None,
        demo_monotonic: None,
    }
}

const fn m_delta(
    name: &'static str,
    unit: &'static str,
    desc: &'static str,
    val: Val,
    dims: &'static [Dim],
) -> MetricDef {
    MetricDef {
        name,
        unit,
        desc,
        val,
        dims,
        delta: true,
        demo_only: false,
        demo_unit: None,
        demo_monotonic: None,
    }
}

/// Semantic-convention duration buckets (seconds).
pub const HTTP_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
/// Millisecond buckets (older RPC instrumentations).
pub const MS_BUCKETS: &[f64] = &[
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];
pub const GC_BUCKETS: &[f64] = &[0.01, 0.1, 1.0, 10.0];

pub const STATUS_CODES: &[i64] = &[200, 404, 500];
pub const CLIENT_STATUS: &[i64] = &[200, 503];
pub const GRPC_CODES: &[i64] = &[0, 2, 14];

/// Generic process metrics, reported by every service.
pub static PROCESS_METRICS: &[MetricDef] = &[
    m(
        "process.cpu.time",
        "s",
        "Total CPU seconds broken down by different CPU modes.",
        Val::Counter {
            rate: 0.35,
            int: false,
        },
        &[Dim::Str("cpu.mode", &["user", "system"])],
    ),
    m(
        "process.memory.usage",
        "By",
        "The amount of physical memory in use.",
        Val::UpDown {
            lo: 6.0e7,
            hi: 9.0e8,
            int: true,
        },
        &[],
    ),
    m(
        "system.cpu.utilization",
        "1",
        "Difference in system.cpu.time since the last measurement, divided by the elapsed time and number of logical CPUs.",
        Val::Gauge {
            lo: 0.0,
            hi: 1.0,
            int: false,
        },
        &[
            Dim::Str("cpu.mode", &["user", "system", "idle", "iowait"]),
            Dim::Int("cpu.logical_number", &[0, 1, 2, 3]),
        ],
    ),
];

/// Metrics derived from a service's operations.
pub static HTTP_SERVER_METRICS: &[MetricDef] = &[
    m(
        "http.server.request.duration",
        "s",
        "Duration of HTTP server requests.",
        Val::Hist {
            bounds: HTTP_BUCKETS,
            median: 0.04,
        },
        &[
            Dim::HttpRoutes,
            Dim::Int("http.response.status_code", STATUS_CODES),
            Dim::Str("url.scheme", &["http"]),
        ],
    ),
    m(
        "http.server.active_requests",
        "{request}",
        "Number of active HTTP server requests.",
        Val::UpDown {
            lo: 0.0,
            hi: 40.0,
            int: true,
        },
        &[
            Dim::Str("http.request.method", &["GET", "POST"]),
            Dim::Str("url.scheme", &["http"]),
        ],
    ),
];
pub static HTTP_CLIENT_METRICS: &[MetricDef] = &[m(
    "http.client.request.duration",
    "s",
    "Duration of HTTP client requests.",
    Val::Hist {
        bounds: HTTP_BUCKETS,
        median: 0.02,
    },
    &[
        Dim::Str("http.request.method", &["GET", "POST"]),
        Dim::HttpPeers,
        Dim::Int("http.response.status_code", CLIENT_STATUS),
    ],
)];
pub static RPC_SERVER_METRICS: &[MetricDef] = &[m(
    "rpc.server.duration",
    "ms",
    "Measures the duration of inbound RPC.",
    Val::Hist {
        bounds: MS_BUCKETS,
        median: 12.0,
    },
    &[
        Dim::RpcServerOps,
        Dim::Int("rpc.grpc.status_code", GRPC_CODES),
    ],
)];
pub static RPC_CLIENT_METRICS: &[MetricDef] = &[m_delta(
    "rpc.client.duration",
    "ms",
    "Measures the duration of outbound RPC.",
    Val::ExpHist { median: 9.0 },
    &[
        Dim::RpcClientOps,
        Dim::Int("rpc.grpc.status_code", &[0, 14]),
    ],
)];
pub static DB_METRICS: &[MetricDef] = &[
    MetricDef {
        // The demo's database instrumentations report it in milliseconds.
        demo_unit: Some("ms"),
        ..m(
            "db.client.operation.duration",
            "s",
            "Duration of database client operations.",
            Val::Hist {
                bounds: HTTP_BUCKETS,
                median: 0.004,
            },
            &[Dim::DbOps],
        )
    },
    m(
        "db.client.connections.usage",
        "{connection}",
        "The number of connections that are currently in state described by the state attribute.",
        Val::UpDown {
            lo: 0.0,
            hi: 20.0,
            int: true,
        },
        &[
            Dim::Str("state", &["idle", "used"]),
            Dim::Str("pool.name", &["otel-pool", "otel-readonly"]),
        ],
    ),
];
pub static PRODUCER_METRICS: &[MetricDef] = &[m(
    "messaging.client.sent.messages",
    "{message}",
    "Number of messages producer attempted to send to the broker.",
    Val::Counter {
        rate: 3.0,
        int: true,
    },
    &[
        Dim::Str("messaging.system", &["kafka"]),
        Dim::Str("messaging.destination.name", &["orders"]),
    ],
)];
pub static CONSUMER_METRICS: &[MetricDef] = &[
    m(
        "messaging.client.consumed.messages",
        "{message}",
        "Number of messages that were delivered to the application.",
        Val::Counter {
            rate: 3.0,
            int: true,
        },
        &[
            Dim::Str("messaging.system", &["kafka"]),
            Dim::Str("messaging.destination.name", &["orders"]),
        ],
    ),
    m(
        "messaging.kafka.consumer.lag",
        "{message}",
        "Consumer lag per partition.",
        Val::Gauge {
            lo: 0.0,
            hi: 300.0,
            int: true,
        },
        &[
            Dim::Str("messaging.destination.name", &["orders"]),
            Dim::Str(
                "messaging.destination.partition.id",
                &["0", "1", "2", "3", "4", "5"],
            ),
        ],
    ),
];

static GO_METRICS: &[MetricDef] = &[
    m(
        "go.memory.used",
        "By",
        "Memory used by the Go runtime.",
        Val::UpDown {
            lo: 8.0e6,
            hi: 1.2e8,
            int: true,
        },
        &[Dim::Str("go.memory.type", &["stack", "other"])],
    ),
    m(
        "go.goroutine.count",
        "{goroutine}",
        "Count of live goroutines.",
        Val::UpDown {
            lo: 12.0,
            hi: 400.0,
            int: true,
        },
        &[],
    ),
    m(
        "go.memory.allocated",
        "By",
        "Memory allocated to the heap by the application.",
        Val::Counter {
            rate: 2.5e6,
            int: true,
        },
        &[],
    ),
    m(
        "go_gc_duration_seconds",
        "s",
        "A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.",
        Val::Summary { median: 0.0004 },
        &[],
    ),
];
static JAVA_METRICS: &[MetricDef] = &[
    m(
        "jvm.memory.used",
        "By",
        "Measure of memory used.",
        Val::UpDown {
            lo: 1.0e6,
            hi: 5.0e8,
            int: true,
        },
        &[
            Dim::Str("jvm.memory.type", &["heap", "non_heap"]),
            Dim::Str(
                "jvm.memory.pool.name",
                &[
                    "G1 Eden Space",
                    "G1 Old Gen",
                    "G1 Survivor Space",
                    "Metaspace",
                    "CodeCache",
                    "Compressed Class Space",
                ],
            ),
        ],
    ),
    m(
        "jvm.gc.duration",
        "s",
        "Duration of JVM garbage collection actions.",
        Val::Hist {
            bounds: GC_BUCKETS,
            median: 0.008,
        },
        &[
            Dim::Str("jvm.gc.name", &["G1 Young Generation", "G1 Old Generation"]),
            Dim::Str("jvm.gc.action", &["end of minor GC", "end of major GC"]),
        ],
    ),
    m(
        "jvm.thread.count",
        "{thread}",
        "Number of executing platform threads.",
        Val::UpDown {
            lo: 0.0,
            hi: 60.0,
            int: true,
        },
        &[
            Dim::Bool("jvm.thread.daemon"),
            Dim::Str(
                "jvm.thread.state",
                &[
                    "runnable",
                    "blocked",
                    "waiting",
                    "timed_waiting",
                    "new",
                    "terminated",
                ],
            ),
        ],
    ),
    m(
        "jvm.cpu.recent_utilization",
        "1",
        "Recent CPU utilization for the process as reported by the JVM.",
        Val::Gauge {
            lo: 0.0,
            hi: 0.9,
            int: false,
        },
        &[],
    ),
    MetricDef {
        // The demo's JVM instrumentation records it with an UpDownCounter
        // (a non-monotonic Sum): the conventions' counter is monotonic.
        demo_monotonic: Some(false),
        ..m(
            "jvm.class.loaded",
            "{class}",
            "Number of classes loaded since JVM start.",
            Val::Counter {
                rate: 0.2,
                int: true,
            },
            &[],
        )
    },
];
static NODE_METRICS: &[MetricDef] = &[
    m(
        "nodejs.eventloop.delay.p99",
        "s",
        "Event loop 99th percentile delay.",
        Val::Gauge {
            lo: 0.01,
            hi: 0.06,
            int: false,
        },
        &[],
    ),
    m(
        "v8js.memory.heap.used",
        "By",
        "Heap Memory size used.",
        Val::Gauge {
            lo: 1.0e6,
            hi: 9.0e7,
            int: true,
        },
        &[Dim::Str(
            "v8js.heap.space.name",
            &["new_space", "old_space", "code_space", "large_object_space"],
        )],
    ),
    m(
        "nodejs.eventloop.utilization",
        "1",
        "Event loop utilization.",
        Val::Gauge {
            lo: 0.0,
            hi: 1.0,
            int: false,
        },
        &[],
    ),
];
static DOTNET_METRICS: &[MetricDef] = &[
    m(
        "dotnet.gc.collections",
        "{collection}",
        "The number of garbage collections that have occurred since the process has started.",
        Val::Counter {
            rate: 0.05,
            int: true,
        },
        &[Dim::Str(
            "dotnet.gc.heap.generation",
            &["gen0", "gen1", "gen2"],
        )],
    ),
    m(
        "dotnet.process.memory.working_set",
        "By",
        "The number of bytes of physical memory mapped to the process context.",
        Val::UpDown {
            lo: 5.0e7,
            hi: 4.0e8,
            int: true,
        },
        &[],
    ),
    m(
        "dotnet.thread_pool.queue.length",
        "{work_item}",
        "The number of work items that are currently queued to be processed by the thread pool.",
        Val::UpDown {
            lo: 0.0,
            hi: 30.0,
            int: true,
        },
        &[],
    ),
];
static PY_METRICS: &[MetricDef] = &[
    m(
        "process.runtime.cpython.gc_count",
        "{count}",
        "Runtime cpython GC count",
        Val::Counter {
            rate: 0.3,
            int: true,
        },
        &[Dim::Str("count", &["0", "1", "2"])],
    ),
    m(
        "process.runtime.cpython.memory",
        "By",
        "Runtime cpython memory",
        Val::UpDown {
            lo: 3.0e7,
            hi: 3.0e8,
            int: true,
        },
        &[Dim::Str("type", &["rss", "vms"])],
    ),
];

// ---------------------------------------------------------------------------
// Languages

pub static GO: Lang = Lang {
    name: "go",
    sdk_version: "1.34.0",
    runtime: Some(("go", "go1.23.6")),
    http_server: (
        "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp",
        "0.59.0",
    ),
    http_client: (
        "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp",
        "0.59.0",
    ),
    rpc: (
        "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc",
        "0.59.0",
    ),
    db: ("github.com/XSAM/otelsql", "0.37.0"),
    messaging: (
        "go.opentelemetry.io/contrib/instrumentation/github.com/IBM/sarama/otelsarama",
        "0.43.0",
    ),
    runtime_metrics: (
        "go.opentelemetry.io/contrib/instrumentation/runtime",
        "0.59.0",
    ),
    metrics: GO_METRICS,
    threads: false,
    otel_log_attrs: false,
    ext: "go",
};
pub static JAVA: Lang = Lang {
    name: "java",
    sdk_version: "1.46.0",
    runtime: Some(("OpenJDK Runtime Environment", "21.0.6+7-LTS")),
    http_server: ("io.opentelemetry.netty-4.1", "2.12.0-alpha"),
    http_client: ("io.opentelemetry.java-http-client", "2.12.0-alpha"),
    rpc: ("io.opentelemetry.grpc-1.6", "2.12.0-alpha"),
    db: ("io.opentelemetry.jdbc", "2.12.0-alpha"),
    messaging: ("io.opentelemetry.kafka-clients-0.11", "2.12.0-alpha"),
    runtime_metrics: ("io.opentelemetry.runtime-telemetry-java17", "2.12.0-alpha"),
    metrics: JAVA_METRICS,
    threads: true,
    otel_log_attrs: false,
    ext: "java",
};
pub static NODE: Lang = Lang {
    name: "nodejs",
    sdk_version: "1.30.1",
    runtime: Some(("nodejs", "22.13.1")),
    http_server: ("@opentelemetry/instrumentation-http", "0.57.1"),
    http_client: ("@opentelemetry/instrumentation-http", "0.57.1"),
    rpc: ("@opentelemetry/instrumentation-grpc", "0.57.1"),
    db: ("@opentelemetry/instrumentation-pg", "0.50.0"),
    messaging: ("@opentelemetry/instrumentation-kafkajs", "0.7.0"),
    runtime_metrics: ("@opentelemetry/instrumentation-runtime-node", "0.12.1"),
    metrics: NODE_METRICS,
    threads: false,
    otel_log_attrs: false,
    ext: "ts",
};
pub static DOTNET: Lang = Lang {
    name: "dotnet",
    sdk_version: "1.11.1",
    runtime: None,
    http_server: ("Microsoft.AspNetCore", ""),
    http_client: ("System.Net.Http", ""),
    rpc: (
        "OpenTelemetry.Instrumentation.GrpcNetClient",
        "1.10.0-beta.1",
    ),
    db: (
        "OpenTelemetry.Instrumentation.EntityFrameworkCore",
        "1.10.0-beta.1",
    ),
    messaging: ("Confluent.Kafka.Extensions.OpenTelemetry", "0.4.0"),
    runtime_metrics: ("OpenTelemetry.Instrumentation.Runtime", "1.10.0"),
    metrics: DOTNET_METRICS,
    threads: true,
    otel_log_attrs: false,
    ext: "cs",
};
pub static PYTHON: Lang = Lang {
    name: "python",
    sdk_version: "1.29.0",
    runtime: Some(("cpython", "3.12.8")),
    http_server: ("opentelemetry.instrumentation.flask", "0.50b0"),
    http_client: ("opentelemetry.instrumentation.requests", "0.50b0"),
    rpc: ("opentelemetry.instrumentation.grpc", "0.50b0"),
    db: ("opentelemetry.instrumentation.redis", "0.50b0"),
    messaging: ("opentelemetry.instrumentation.kafka", "0.50b0"),
    runtime_metrics: ("opentelemetry.instrumentation.system_metrics", "0.50b0"),
    metrics: PY_METRICS,
    threads: false,
    otel_log_attrs: true,
    ext: "py",
};
pub static RUBY: Lang = Lang {
    name: "ruby",
    sdk_version: "1.7.0",
    runtime: Some(("ruby", "3.3.7")),
    http_server: ("OpenTelemetry::Instrumentation::Sinatra", "0.24.1"),
    http_client: ("OpenTelemetry::Instrumentation::Net::HTTP", "0.22.8"),
    rpc: ("OpenTelemetry::Instrumentation::GRPC", "0.1.1"),
    db: ("OpenTelemetry::Instrumentation::PG", "0.29.1"),
    messaging: ("OpenTelemetry::Instrumentation::RubyKafka", "0.21.2"),
    runtime_metrics: ("OpenTelemetry::Metrics::Runtime", "0.1.0"),
    metrics: &[],
    threads: false,
    otel_log_attrs: false,
    ext: "rb",
};
pub static PHP: Lang = Lang {
    name: "php",
    sdk_version: "1.2.0",
    runtime: Some(("php", "8.3.16")),
    http_server: ("io.opentelemetry.contrib.php.slim", "1.0.6"),
    http_client: ("io.opentelemetry.contrib.php.psr18", "1.0.4"),
    rpc: ("io.opentelemetry.contrib.php.grpc", "0.1.0"),
    db: ("io.opentelemetry.contrib.php.pdo", "0.0.4"),
    messaging: ("io.opentelemetry.contrib.php.kafka", "0.1.0"),
    runtime_metrics: ("io.opentelemetry.contrib.php.runtime", "0.1.0"),
    metrics: &[],
    threads: false,
    otel_log_attrs: false,
    ext: "php",
};
pub static CPP: Lang = Lang {
    name: "cpp",
    sdk_version: "1.19.0",
    runtime: None,
    http_server: ("otel_ngx_module", "1.0.0"),
    http_client: ("opentelemetry-cpp/http", "1.19.0"),
    rpc: ("currency", "1.19.0"),
    db: ("opentelemetry-cpp/db", "1.19.0"),
    messaging: ("opentelemetry-cpp/kafka", "1.19.0"),
    runtime_metrics: ("opentelemetry-cpp/process", "1.19.0"),
    metrics: &[],
    threads: false,
    otel_log_attrs: false,
    ext: "cpp",
};
pub static RUST: Lang = Lang {
    name: "rust",
    sdk_version: "0.28.0",
    runtime: None,
    http_server: ("actix-web-opentelemetry", "0.22.0"),
    http_client: ("reqwest-tracing", "0.5.5"),
    rpc: ("tonic-tracing-opentelemetry", "0.24.1"),
    db: ("sqlx", "0.8.3"),
    messaging: ("rdkafka", "0.37.0"),
    runtime_metrics: ("opentelemetry-system-metrics", "0.3.0"),
    metrics: &[],
    threads: true,
    otel_log_attrs: false,
    ext: "rs",
};

// ---------------------------------------------------------------------------
// Services. The first `--services K` are used (frontend always first).

const fn op(name: &'static str, kind: i32, weight: u32, shape: Shape, app: &'static [App]) -> Op {
    Op {
        name,
        kind,
        weight,
        shape,
        app,
    }
}

const fn get(route: &'static str) -> Shape {
    Shape::HttpServer {
        method: "GET",
        route,
    }
}

const fn post(route: &'static str) -> Shape {
    Shape::HttpServer {
        method: "POST",
        route,
    }
}

const fn grpc_in(service: &'static str, method: &'static str) -> Shape {
    Shape::RpcServer { service, method }
}

const fn grpc_out(
    service: &'static str,
    method: &'static str,
    peer: &'static str,
    port: i64,
) -> Shape {
    Shape::RpcClient {
        service,
        method,
        peer,
        port,
    }
}

const fn sql(op: &'static str, table: &'static str, query: &'static str) -> Shape {
    Shape::Db {
        system: "postgresql",
        op,
        table,
        query,
        peer: "postgresql",
        port: 5432,
    }
}

const fn redis(op: &'static str, query: &'static str) -> Shape {
    Shape::Db {
        system: "redis",
        op,
        table: "",
        query,
        peer: "valkey-cart",
        port: 6379,
    }
}

const fn http_out(
    method: &'static str,
    peer: &'static str,
    port: i64,
    path: &'static str,
) -> Shape {
    Shape::HttpClient {
        method,
        peer,
        port,
        path,
    }
}

use App::*;

static FRONTEND_OPS: &[Op] = &[
    op("GET /", SERVER, 6, get("/"), &[]),
    op(
        "GET /api/products",
        SERVER,
        8,
        get("/api/products"),
        &[Currency],
    ),
    op(
        "GET /api/products/{productId}",
        SERVER,
        14,
        get("/api/products/{productId}"),
        &[ProductId, Currency],
    ),
    op(
        "GET /api/recommendations",
        SERVER,
        8,
        get("/api/recommendations"),
        &[ProductId],
    ),
    op("GET /api/cart", SERVER, 8, get("/api/cart"), &[UserId]),
    op(
        "POST /api/cart",
        SERVER,
        5,
        post("/api/cart"),
        &[ProductId, UserId],
    ),
    op(
        "POST /api/checkout",
        SERVER,
        3,
        post("/api/checkout"),
        &[UserId, Currency],
    ),
    op("GET /api/currency", SERVER, 3, get("/api/currency"), &[]),
    op("GET /api/data", SERVER, 6, get("/api/data"), &[AdCategory]),
    op(
        "GET /api/shipping",
        SERVER,
        2,
        get("/api/shipping"),
        &[ShippingZip],
    ),
    op("GET /users/{id}", SERVER, 8, Shape::UserPage, &[]),
    op(
        "oteldemo.ProductCatalogService/ListProducts",
        CLIENT,
        6,
        grpc_out(
            "oteldemo.ProductCatalogService",
            "ListProducts",
            "product-catalog",
            3550,
        ),
        &[],
    ),
    op(
        "oteldemo.ProductCatalogService/GetProduct",
        CLIENT,
        10,
        grpc_out(
            "oteldemo.ProductCatalogService",
            "GetProduct",
            "product-catalog",
            3550,
        ),
        &[ProductId],
    ),
    op(
        "oteldemo.CartService/GetCart",
        CLIENT,
        6,
        grpc_out("oteldemo.CartService", "GetCart", "cart", 7070),
        &[UserId],
    ),
    op(
        "oteldemo.CartService/AddItem",
        CLIENT,
        4,
        grpc_out("oteldemo.CartService", "AddItem", "cart", 7070),
        &[UserId, ProductId],
    ),
    op(
        "oteldemo.CheckoutService/PlaceOrder",
        CLIENT,
        2,
        grpc_out("oteldemo.CheckoutService", "PlaceOrder", "checkout", 5050),
        &[UserId],
    ),
    op(
        "oteldemo.CurrencyService/Convert",
        CLIENT,
        6,
        grpc_out("oteldemo.CurrencyService", "Convert", "currency", 7001),
        &[ConvFrom, ConvTo],
    ),
    op(
        "oteldemo.RecommendationService/ListRecommendations",
        CLIENT,
        5,
        grpc_out(
            "oteldemo.RecommendationService",
            "ListRecommendations",
            "recommendation",
            9001,
        ),
        &[],
    ),
    op(
        "oteldemo.AdService/GetAds",
        CLIENT,
        5,
        grpc_out("oteldemo.AdService", "GetAds", "ad", 9555),
        &[AdCategory],
    ),
    op(
        "GET",
        CLIENT,
        2,
        http_out("GET", "shipping", 50050, "/get-quote"),
        &[],
    ),
    op(
        "render route (pages) /product/[productId]",
        INTERNAL,
        4,
        Shape::Internal,
        &[ProductId, FeatureFlag],
    ),
];

static CHECKOUT_OPS: &[Op] = &[
    op(
        "oteldemo.CheckoutService/PlaceOrder",
        SERVER,
        10,
        grpc_in("oteldemo.CheckoutService", "PlaceOrder"),
        &[UserId, Currency],
    ),
    op(
        "oteldemo.CartService/GetCart",
        CLIENT,
        6,
        grpc_out("oteldemo.CartService", "GetCart", "cart", 7070),
        &[UserId],
    ),
    op(
        "oteldemo.CartService/EmptyCart",
        CLIENT,
        4,
        grpc_out("oteldemo.CartService", "EmptyCart", "cart", 7070),
        &[UserId],
    ),
    op(
        "oteldemo.ProductCatalogService/GetProduct",
        CLIENT,
        8,
        grpc_out(
            "oteldemo.ProductCatalogService",
            "GetProduct",
            "product-catalog",
            3550,
        ),
        &[ProductId],
    ),
    op(
        "oteldemo.CurrencyService/Convert",
        CLIENT,
        6,
        grpc_out("oteldemo.CurrencyService", "Convert", "currency", 7001),
        &[ConvFrom, ConvTo],
    ),
    op(
        "oteldemo.PaymentService/Charge",
        CLIENT,
        4,
        grpc_out("oteldemo.PaymentService", "Charge", "payment", 50051),
        &[OrderAmount],
    ),
    op(
        "POST",
        CLIENT,
        6,
        http_out("POST", "shipping", 50050, "/ship-order"),
        &[],
    ),
    op(
        "POST",
        CLIENT,
        3,
        http_out("POST", "email", 6060, "/send_order_confirmation"),
        &[EmailTo],
    ),
    op(
        "orders publish",
        PRODUCER,
        4,
        Shape::Produce { dest: "orders" },
        &[OrderId],
    ),
    op(
        "prepareOrderItemsAndShippingQuoteFromCart",
        INTERNAL,
        5,
        Shape::Internal,
        &[OrderItems, ShippingCost],
    ),
];

static CART_OPS: &[Op] = &[
    op(
        "oteldemo.CartService/AddItem",
        SERVER,
        6,
        grpc_in("oteldemo.CartService", "AddItem"),
        &[UserId, ProductId, CartItems],
    ),
    op(
        "oteldemo.CartService/GetCart",
        SERVER,
        10,
        grpc_in("oteldemo.CartService", "GetCart"),
        &[UserId, CartItems],
    ),
    op(
        "oteldemo.CartService/EmptyCart",
        SERVER,
        3,
        grpc_in("oteldemo.CartService", "EmptyCart"),
        &[UserId],
    ),
    op("HGET", CLIENT, 10, redis("HGET", "HGET cart:? items"), &[]),
    op(
        "HMSET",
        CLIENT,
        5,
        redis("HMSET", "HMSET cart:? items ?"),
        &[],
    ),
    op("EXPIRE", CLIENT, 5, redis("EXPIRE", "EXPIRE cart:? ?"), &[]),
    op(
        "AddItemAsync",
        INTERNAL,
        3,
        Shape::Internal,
        &[UserId, ProductId],
    ),
];

static PRODUCT_CATALOG_OPS: &[Op] = &[
    op(
        "oteldemo.ProductCatalogService/ListProducts",
        SERVER,
        6,
        grpc_in("oteldemo.ProductCatalogService", "ListProducts"),
        &[ProductsCount],
    ),
    op(
        "oteldemo.ProductCatalogService/GetProduct",
        SERVER,
        12,
        grpc_in("oteldemo.ProductCatalogService", "GetProduct"),
        &[ProductId],
    ),
    op(
        "oteldemo.ProductCatalogService/SearchProducts",
        SERVER,
        2,
        grpc_in("oteldemo.ProductCatalogService", "SearchProducts"),
        &[ProductsCount],
    ),
    op(
        "SELECT products",
        CLIENT,
        14,
        sql(
            "SELECT",
            "products",
            "SELECT id, name, description, picture, price_usd_currency_code, price_usd_units, price_usd_nanos FROM products WHERE id = $1",
        ),
        &[],
    ),
    op(
        "SELECT categories",
        CLIENT,
        3,
        sql(
            "SELECT",
            "categories",
            "SELECT category FROM product_categories WHERE product_id = $1",
        ),
        &[],
    ),
    op(
        "flagd.evaluation.v1.Service/ResolveBoolean",
        CLIENT,
        3,
        grpc_out(
            "flagd.evaluation.v1.Service",
            "ResolveBoolean",
            "flagd",
            8013,
        ),
        &[FeatureFlag],
    ),
];

static PAYMENT_OPS: &[Op] = &[
    op(
        "oteldemo.PaymentService/Charge",
        SERVER,
        10,
        grpc_in("oteldemo.PaymentService", "Charge"),
        &[OrderAmount, Currency],
    ),
    op(
        "charge",
        INTERNAL,
        8,
        Shape::Internal,
        &[CardType, CardValid, Loyalty, OrderAmount],
    ),
    op(
        "POST",
        CLIENT,
        2,
        http_out("POST", "fraud-detection", 8080, "/api/v1/score"),
        &[],
    ),
];

static SHIPPING_OPS: &[Op] = &[
    op(
        "POST /get-quote",
        SERVER,
        8,
        post("/get-quote"),
        &[ShippingZip, QuoteItems],
    ),
    op(
        "POST /ship-order",
        SERVER,
        5,
        post("/ship-order"),
        &[ShippingZip],
    ),
    op(
        "POST",
        CLIENT,
        6,
        http_out("POST", "quote", 8090, "/getquote"),
        &[QuoteItems],
    ),
    op(
        "create-shipping-tracking-id",
        INTERNAL,
        4,
        Shape::Internal,
        &[TrackingId],
    ),
    op(
        "calculate-shipping-cost",
        INTERNAL,
        4,
        Shape::Internal,
        &[ShippingCost],
    ),
];

static EMAIL_OPS: &[Op] = &[
    op(
        "POST /send_order_confirmation",
        SERVER,
        10,
        post("/send_order_confirmation"),
        &[EmailTo, OrderId],
    ),
    op("send_email", INTERNAL, 8, Shape::Internal, &[EmailTo]),
    op("render_template", INTERNAL, 4, Shape::Internal, &[OrderId]),
];

static CURRENCY_OPS: &[Op] = &[
    op(
        "oteldemo.CurrencyService/Convert",
        SERVER,
        12,
        grpc_in("oteldemo.CurrencyService", "Convert"),
        &[ConvFrom, ConvTo],
    ),
    op(
        "oteldemo.CurrencyService/GetSupportedCurrencies",
        SERVER,
        4,
        grpc_in("oteldemo.CurrencyService", "GetSupportedCurrencies"),
        &[],
    ),
    op("convert", INTERNAL, 6, Shape::Internal, &[ConvFrom, ConvTo]),
];

static RECOMMENDATION_OPS: &[Op] = &[
    op(
        "oteldemo.RecommendationService/ListRecommendations",
        SERVER,
        10,
        grpc_in("oteldemo.RecommendationService", "ListRecommendations"),
        &[RecProducts, RecCache],
    ),
    op(
        "oteldemo.ProductCatalogService/ListProducts",
        CLIENT,
        8,
        grpc_out(
            "oteldemo.ProductCatalogService",
            "ListProducts",
            "product-catalog",
            3550,
        ),
        &[],
    ),
    op(
        "get_product_list",
        INTERNAL,
        6,
        Shape::Internal,
        &[ProductsCount, RecCache],
    ),
    op("GET", CLIENT, 3, redis("GET", "GET recommendation:?"), &[]),
];

static AD_OPS: &[Op] = &[
    op(
        "oteldemo.AdService/GetAds",
        SERVER,
        10,
        grpc_in("oteldemo.AdService", "GetAds"),
        &[AdCategory, AdType],
    ),
    op("getRandomAds", INTERNAL, 4, Shape::Internal, &[AdType]),
    op(
        "getAdsByCategory",
        INTERNAL,
        6,
        Shape::Internal,
        &[AdCategory],
    ),
    op(
        "flagd.evaluation.v1.Service/ResolveBoolean",
        CLIENT,
        3,
        grpc_out(
            "flagd.evaluation.v1.Service",
            "ResolveBoolean",
            "flagd",
            8013,
        ),
        &[FeatureFlag],
    ),
];

static QUOTE_OPS: &[Op] = &[
    op(
        "POST /getquote",
        SERVER,
        10,
        post("/getquote"),
        &[QuoteItems],
    ),
    op(
        "calculate-quote",
        INTERNAL,
        8,
        Shape::Internal,
        &[QuoteItems, QuoteCost],
    ),
];

static FRAUD_OPS: &[Op] = &[
    op(
        "orders process",
        CONSUMER,
        10,
        Shape::Consume {
            dest: "orders",
            group: "fraud-detection",
        },
        &[OrderId],
    ),
    op(
        "POST /api/v1/score",
        SERVER,
        3,
        post("/api/v1/score"),
        &[FraudScore],
    ),
    op(
        "fraud.check",
        INTERNAL,
        8,
        Shape::Internal,
        &[FraudScore, FraudFlag, OrderId],
    ),
    op(
        "INSERT fraud_checks",
        CLIENT,
        4,
        sql(
            "INSERT",
            "fraud_checks",
            "INSERT INTO fraud_checks (order_id, score, flagged, checked_at) VALUES (?, ?, ?, ?)",
        ),
        &[],
    ),
];

static ACCOUNTING_OPS: &[Op] = &[
    op(
        "orders process",
        CONSUMER,
        10,
        Shape::Consume {
            dest: "orders",
            group: "accounting",
        },
        &[OrderId],
    ),
    op(
        "INSERT otel.orders",
        CLIENT,
        8,
        sql(
            "INSERT",
            "orders",
            "INSERT INTO orders (order_id) VALUES (@p0)",
        ),
        &[],
    ),
    op(
        "INSERT otel.orderitem",
        CLIENT,
        8,
        sql(
            "INSERT",
            "orderitem",
            "INSERT INTO orderitem (item_cost_currency_code, item_cost_units, item_cost_nanos, product_id, quantity, order_id) VALUES (@p0, @p1, @p2, @p3, @p4, @p5)",
        ),
        &[ProductId],
    ),
];

static IMAGE_OPS: &[Op] = &[
    op(
        "GET /images/products/{image}",
        SERVER,
        10,
        get("/images/products/{image}"),
        &[ImageSize],
    ),
    op("GET /status", SERVER, 2, get("/status"), &[]),
];

// Service-specific metrics.
static FRONTEND_METRICS: &[MetricDef] = &[MetricDef {
    name: "app.frontend.requests",
    unit: "{request}",
    desc: "Requests served by the frontend, per user.",
    val: Val::Counter {
        rate: 0.05,
        int: true,
    },
    dims: &[
        Dim::ExplodingUser,
        Dim::Str("http.request.method", &["GET", "POST"]),
    ],
    delta: true,
    demo_only: true,
    demo_unit: None,
    demo_monotonic: None,
}];
static CHECKOUT_METRICS: &[MetricDef] = &[
    m(
        "app.orders.placed",
        "{order}",
        "Orders placed.",
        Val::Counter {
            rate: 0.4,
            int: true,
        },
        &[Dim::Str("app.order.currency", CURRENCIES_SHORT)],
    ),
    m(
        "queue.size",
        "{item}",
        "Number of items waiting in the queue.",
        Val::Gauge {
            lo: 0.0,
            hi: 50.0,
            int: true,
        },
        &[Dim::Str(
            "queue.name",
            &["order-confirmations", "shipping-requests"],
        )],
    ),
];
static CART_METRICS: &[MetricDef] = &[
    m(
        "app.cart.add_item.latency",
        "s",
        "Latency of adding an item to a cart.",
        Val::Hist {
            bounds: HTTP_BUCKETS,
            median: 0.003,
        },
        &[],
    ),
    m(
        "app.cart.get_cart.latency",
        "s",
        "Latency of reading a cart.",
        Val::Hist {
            bounds: HTTP_BUCKETS,
            median: 0.002,
        },
        &[],
    ),
];
static PAYMENT_METRICS: &[MetricDef] = &[m(
    "app.payment.transactions",
    "{transaction}",
    "Payment transactions.",
    Val::Counter {
        rate: 0.3,
        int: true,
    },
    &[
        Dim::Str("app.payment.currency", CURRENCIES_SHORT),
        Dim::Str(
            "app.loyalty.level",
            &["platinum", "gold", "silver", "bronze"],
        ),
    ],
)];
static RECOMMENDATION_METRICS: &[MetricDef] = &[m(
    "app_recommendations_counter",
    "{recommendation}",
    "Counts the total number of given recommendations",
    Val::Counter {
        rate: 2.0,
        int: true,
    },
    &[Dim::Str("recommendation.type", &["catalog"])],
)];
static AD_METRICS: &[MetricDef] = &[m(
    "app.ads.ad_requests",
    "{request}",
    "Counts ad requests by request and response type",
    Val::Counter {
        rate: 1.5,
        int: true,
    },
    &[
        Dim::Str("app.ads.ad_request_type", &["targeted", "not_targeted"]),
        Dim::Str("app.ads.ad_response_type", &["targeted", "random"]),
    ],
)];
static CURRENCY_METRICS: &[MetricDef] = &[m(
    "app.currency_counter",
    "{conversion}",
    "Counts currency conversions by currency code.",
    Val::Counter {
        rate: 0.8,
        int: true,
    },
    &[Dim::Str("currency_code", CURRENCIES)],
)];
static SHIPPING_METRICS: &[MetricDef] = &[m_delta(
    "app.shipping.quote.cost",
    "USD",
    "Shipping quote cost.",
    Val::ExpHist { median: 12.0 },
    &[],
)];
static FRAUD_METRICS: &[MetricDef] = &[
    m_delta(
        "app.fraud.score",
        "1",
        "Fraud score of checked orders.",
        Val::ExpHist { median: 0.08 },
        &[],
    ),
    m(
        "app.fraud.detected",
        "{order}",
        "Orders flagged as fraudulent.",
        Val::Counter {
            rate: 0.01,
            int: true,
        },
        &[Dim::Str(
            "app.fraud.reason",
            &["velocity", "geo_mismatch", "card_blacklisted"],
        )],
    ),
];
static ACCOUNTING_METRICS: &[MetricDef] = &[m(
    "queue.size",
    "{item}",
    "Number of items waiting in the queue.",
    Val::Gauge {
        lo: 0.0,
        hi: 500.0,
        int: true,
    },
    &[Dim::Str("queue.name", &["orders-ledger"])],
)];
static QUOTE_METRICS: &[MetricDef] = &[m(
    "http_request_duration_seconds",
    "s",
    "Request duration (Prometheus summary).",
    Val::Summary { median: 0.006 },
    &[Dim::Str("handler", &["/getquote"])],
)];
static EMAIL_METRICS: &[MetricDef] = &[m(
    "app.email.sent",
    "{email}",
    "Emails sent.",
    Val::Counter {
        rate: 0.4,
        int: true,
    },
    &[Dim::Str(
        "app.email.template",
        &["order_confirmation", "shipping_update"],
    )],
)];
static IMAGE_METRICS: &[MetricDef] = &[
    m(
        "nginx.requests",
        "{request}",
        "Total number of requests made to the server since it started.",
        Val::Counter {
            rate: 6.0,
            int: true,
        },
        &[],
    ),
    m(
        "nginx.connections_current",
        "{connection}",
        "The current number of nginx connections by state.",
        Val::Gauge {
            lo: 0.0,
            hi: 80.0,
            int: true,
        },
        &[Dim::Str(
            "state",
            &["active", "reading", "writing", "waiting"],
        )],
    ),
];

pub static SERVICES: &[Service] = &[
    Service {
        name: "frontend",
        version: "2.0.2",
        lang: &NODE,
        weight: 6,
        hosts: 4,
        pods: 50,
        region: "eu-west-1",
        port: 8080,
        legacy: false,
        family: Family::Web,
        file_logs: false,
        ops: FRONTEND_OPS,
        metrics: FRONTEND_METRICS,
        loggers: &["frontend", "frontend.api"],
    },
    Service {
        name: "checkout",
        version: "2.0.2",
        lang: &GO,
        weight: 3,
        hosts: 3,
        pods: 50,
        region: "eu-west-1",
        port: 5050,
        legacy: false,
        family: Family::Commerce,
        file_logs: false,
        ops: CHECKOUT_OPS,
        metrics: CHECKOUT_METRICS,
        loggers: &["checkout", "checkout.kafka"],
    },
    Service {
        name: "cart",
        version: "2.0.2",
        lang: &DOTNET,
        weight: 3,
        hosts: 3,
        pods: 50,
        region: "eu-west-1",
        port: 7070,
        legacy: false,
        family: Family::Commerce,
        file_logs: false,
        ops: CART_OPS,
        metrics: CART_METRICS,
        loggers: &[
            "cart.cartstore.ValkeyCartStore",
            "cart.services.CartService",
        ],
    },
    Service {
        name: "product-catalog",
        version: "2.0.2",
        lang: &GO,
        weight: 3,
        hosts: 3,
        pods: 50,
        region: "eu-west-1",
        port: 3550,
        legacy: false,
        family: Family::Catalog,
        file_logs: false,
        ops: PRODUCT_CATALOG_OPS,
        metrics: &[],
        loggers: &["product-catalog"],
    },
    Service {
        name: "payment",
        version: "2.0.2",
        lang: &NODE,
        weight: 2,
        hosts: 2,
        pods: 50,
        region: "eu-west-1",
        port: 50051,
        legacy: false,
        family: Family::Commerce,
        file_logs: false,
        ops: PAYMENT_OPS,
        metrics: PAYMENT_METRICS,
        loggers: &["payment"],
    },
    Service {
        name: "shipping",
        version: "2.0.2",
        lang: &RUST,
        weight: 2,
        hosts: 2,
        pods: 50,
        region: "eu-west-1",
        port: 50050,
        legacy: false,
        family: Family::Commerce,
        file_logs: false,
        ops: SHIPPING_OPS,
        metrics: SHIPPING_METRICS,
        loggers: &["shipping::quote", "shipping::shipment"],
    },
    Service {
        name: "email",
        version: "2.0.2",
        lang: &RUBY,
        weight: 1,
        hosts: 2,
        pods: 50,
        region: "eu-west-1",
        port: 6060,
        legacy: true,
        family: Family::Commerce,
        file_logs: true,
        ops: EMAIL_OPS,
        metrics: EMAIL_METRICS,
        loggers: &["email"],
    },
    Service {
        name: "currency",
        version: "2.0.2",
        lang: &CPP,
        weight: 2,
        hosts: 2,
        pods: 50,
        region: "eu-west-1",
        port: 7001,
        legacy: false,
        family: Family::Catalog,
        file_logs: false,
        ops: CURRENCY_OPS,
        metrics: CURRENCY_METRICS,
        loggers: &["currency"],
    },
    Service {
        name: "recommendation",
        version: "2.0.2",
        lang: &PYTHON,
        weight: 2,
        hosts: 2,
        pods: 50,
        region: "eu-west-1",
        port: 9001,
        legacy: false,
        family: Family::Catalog,
        file_logs: false,
        ops: RECOMMENDATION_OPS,
        metrics: RECOMMENDATION_METRICS,
        loggers: &[
            "recommendation_server",
            "opentelemetry.instrumentation.grpc",
        ],
    },
    Service {
        name: "ad",
        version: "2.0.2",
        lang: &JAVA,
        weight: 2,
        hosts: 2,
        pods: 50,
        region: "eu-west-1",
        port: 9555,
        legacy: false,
        family: Family::Catalog,
        file_logs: false,
        ops: AD_OPS,
        metrics: AD_METRICS,
        loggers: &["oteldemo.AdService", "oteldemo.problempattern.CPULoad"],
    },
    Service {
        name: "quote",
        version: "2.0.2",
        lang: &PHP,
        weight: 1,
        hosts: 2,
        pods: 50,
        region: "eu-west-1",
        port: 8090,
        legacy: true,
        family: Family::Commerce,
        file_logs: true,
        ops: QUOTE_OPS,
        metrics: QUOTE_METRICS,
        loggers: &["quote"],
    },
    Service {
        name: "fraud-detection",
        version: "2.0.2",
        lang: &JAVA,
        weight: 1,
        hosts: 2,
        pods: 50,
        region: "eu-west-1",
        port: 8080,
        legacy: false,
        family: Family::Catalog,
        file_logs: false,
        ops: FRAUD_OPS,
        metrics: FRAUD_METRICS,
        loggers: &[
            "frauddetection.MainKt",
            "org.apache.kafka.clients.consumer.KafkaConsumer",
        ],
    },
    Service {
        name: "accounting",
        version: "2.0.2",
        lang: &DOTNET,
        weight: 1,
        hosts: 2,
        pods: 50,
        region: "eu-west-1",
        port: 8080,
        legacy: false,
        family: Family::Commerce,
        file_logs: false,
        ops: ACCOUNTING_OPS,
        metrics: ACCOUNTING_METRICS,
        loggers: &["Accounting.Consumer"],
    },
    Service {
        name: "image-provider",
        version: "1.27.4",
        lang: &CPP,
        weight: 2,
        hosts: 2,
        pods: 50,
        region: "eu-west-1",
        port: 8081,
        legacy: true,
        family: Family::Web,
        file_logs: true,
        ops: IMAGE_OPS,
        metrics: IMAGE_METRICS,
        loggers: &["nginx"],
    },
];

/// Default `--services`.
pub const DEFAULT_SERVICES: usize = 12;

// ---------------------------------------------------------------------------
// Value pools

pub const CURRENCIES: &[&str] = &[
    "USD", "EUR", "CAD", "JPY", "GBP", "TRY", "AUD", "BRL", "BGN", "CHF", "CNY", "CZK", "DKK",
    "HKD", "HRK", "HUF", "IDR", "ILS", "INR", "ISK", "KRW", "MXN", "MYR", "NOK", "NZD", "PHP",
    "PLN", "RON", "RUB", "SEK",
];
pub const CURRENCIES_SHORT: &[&str] = &["USD", "EUR", "CAD", "JPY", "GBP", "TRY"];
pub const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:134.0) Gecko/20100101 Firefox/134.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.135 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.112",
    "python-requests/2.32.3",
    "Go-http-client/1.1",
    "curl/8.11.1",
    "k6/0.56.0 (https://k6.io/)",
    "Locust/2.32.6",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
];
pub const CARD_TYPES: &[&str] = &["visa", "mastercard", "amex"];
pub const LOYALTY: &[&str] = &["platinum", "gold", "silver", "bronze"];
pub const AD_CATEGORIES: &[&str] = &[
    "binoculars",
    "telescopes",
    "accessories",
    "assembly",
    "travel",
    "books",
    "flashlights",
];
pub const EXCEPTIONS_JAVA: &[(&str, &str)] = &[
    ("java.lang.IllegalStateException", "Inventory not reserved"),
    (
        "io.grpc.StatusRuntimeException",
        "UNAVAILABLE: io exception",
    ),
    ("java.net.SocketTimeoutException", "Read timed out"),
    (
        "java.lang.NullPointerException",
        "Cannot invoke \"String.length()\" because \"category\" is null",
    ),
];
pub const EXCEPTIONS_OTHER: &[(&str, &str)] = &[
    ("Error", "14 UNAVAILABLE: No connection established"),
    ("TimeoutError", "operation timed out after 5000ms"),
    ("ConnectionRefusedError", "[Errno 111] Connection refused"),
    ("System.InvalidOperationException", "Cart is empty"),
    (
        "Grpc.Core.RpcException",
        "Status(StatusCode=\"Unavailable\", Detail=\"Error connecting to subchannel.\")",
    ),
    ("ValidationError", "Credit card info is invalid"),
];
pub const HOSTS: &[&str] = &[
    "postgresql",
    "valkey-cart",
    "kafka",
    "flagd",
    "product-catalog",
    "currency",
    "quote",
    "email",
    "shipping",
    "payment",
];
pub const PORTS: &[i64] = &[5432, 6379, 9092, 8013, 3550, 7001, 8090, 6060, 50050, 50051];
pub const TABLES: &[&str] = &[
    "products",
    "orders",
    "orderitem",
    "fraud_checks",
    "shipments",
];
pub const VERSIONS: &[&str] = &["1.12.0", "1.12.1", "2.0.0", "2.0.2", "2.1.0-rc.1"];
pub const ERROR_CODES: &[&str] = &["E1001", "E1042", "E2003", "E3100", "E4040", "E5000"];
pub const THREADS_JAVA: &[&str] = &[
    "grpc-default-executor-0",
    "grpc-default-executor-1",
    "grpc-default-executor-2",
    "kafka-consumer-thread",
    "main",
    "ForkJoinPool.commonPool-worker-1",
];
pub const THREADS_DOTNET: &[&str] = &[".NET ThreadPool Worker", ".NET TP Worker", "Main Thread"];

// ---------------------------------------------------------------------------
// Log templates

/// Severity levels the generator uses: (severityNumber, canonical text).
pub const TRACE: (i32, &str) = (1, "TRACE");
pub const DEBUG: (i32, &str) = (5, "DEBUG");
pub const INFO: (i32, &str) = (9, "INFO");
pub const WARN: (i32, &str) = (13, "WARN");
pub const ERROR: (i32, &str) = (17, "ERROR");
pub const FATAL: (i32, &str) = (21, "FATAL");
pub const SEVERITIES: &[(i32, &str)] = &[TRACE, DEBUG, INFO, WARN, ERROR, FATAL];
/// Relative frequencies of [`SEVERITIES`] (per 10 000 records).
pub const SEVERITY_WEIGHTS: &[u32] = &[40, 1200, 7300, 950, 480, 30];

/// A log body template: `{var}` placeholders are filled with generated
/// values (see `logs.rs` for the variables).
pub struct Tmpl {
    pub sev: (i32, &'static str),
    pub text: &'static str,
}

const fn t(sev: (i32, &'static str), text: &'static str) -> Tmpl {
    Tmpl { sev, text }
}

/// Templates every service may log.
pub static COMMON_TEMPLATES: &[Tmpl] = &[
    t(TRACE, "Entering {func} with {count} arguments"),
    t(TRACE, "Exiting {func} after {ms}ms"),
    t(DEBUG, "Health check passed in {ms}ms"),
    t(
        DEBUG,
        "Loaded configuration from /etc/otel-demo/config.yaml (version {version})",
    ),
    t(DEBUG, "Feature flag {flag} evaluated to {bool}"),
    t(
        DEBUG,
        "Connection pool stats: active={count} idle={n} waiting=0",
    ),
    t(INFO, "Service started on port {port} (version {version})"),
    t(
        INFO,
        "Received shutdown signal, draining {n} in-flight requests",
    ),
    t(INFO, "GC pause of {ms}ms, heap {heap}MB -> {heap}MB"),
    t(
        WARN,
        "Connection to {host}:{port} refused, retrying in {n}s",
    ),
    t(WARN, "Slow request: {method} {path} took {ms}ms"),
    t(WARN, "High memory usage: {pct}% of limit"),
    t(
        ERROR,
        "Connection to {host}:{port} failed after {n} attempts: connection refused",
    ),
    t(
        ERROR,
        "Deadline exceeded calling {host}:{port} after {ms}ms",
    ),
    t(
        FATAL,
        "Unable to bind to port {port}: address already in use",
    ),
    t(
        FATAL,
        "Out of memory: heap {heap}MB exceeds limit, shutting down",
    ),
];

pub static WEB_TEMPLATES: &[Tmpl] = &[
    t(TRACE, "Rendering component {func} with props size {bytes}"),
    t(DEBUG, "Cache hit for {path}"),
    t(DEBUG, "Cache miss for {path}, fetching from upstream"),
    t(DEBUG, "Session {session} refreshed for user {user}"),
    t(DEBUG, "Resolved route {path} to page /product/[productId]"),
    t(DEBUG, "Fetched {count} products in {ms}ms"),
    t(DEBUG, "Ad request for category {category} returned {n} ads"),
    t(INFO, "{method} {path} {status} {ms}ms"),
    t(
        INFO,
        "{ip} - - \"{method} {path} HTTP/1.1\" {status} {bytes} \"-\" \"{agent}\"",
    ),
    t(INFO, "{method} {path} {status} {ms}ms"),
    t(INFO, "{method} {path} {status} {ms}ms"),
    t(INFO, "User {user} viewed product {sku}"),
    t(INFO, "User {user} added {qty} x {sku} to cart"),
    t(INFO, "User {user} started checkout with {count} items"),
    t(INFO, "Checkout completed for user {user}: order {order}"),
    t(INFO, "Currency changed to {currency} for session {session}"),
    t(
        INFO,
        "Served image /images/products/{image} ({bytes} bytes)",
    ),
    t(INFO, "New session {session} from {ip}"),
    t(INFO, "Recommendations for product {sku}: {n} items"),
    t(INFO, "Page /product/{sku} rendered in {ms}ms"),
    t(WARN, "Upstream {host} responded {status} for {path}"),
    t(
        WARN,
        "Rate limit approaching for client {ip}: {count} requests/min",
    ),
    t(
        WARN,
        "Invalid currency code {code} in request, falling back to USD",
    ),
    t(WARN, "Image /images/products/{image} not found"),
    t(WARN, "Request to {path} retried {n} times"),
    t(WARN, "Session {session} expired"),
    t(
        ERROR,
        "Error: 14 UNAVAILABLE: No connection established (calling {host})",
    ),
    t(ERROR, "Failed to fetch product {sku}: {status}"),
    t(
        ERROR,
        "Unhandled rejection in /api/checkout: TypeError: Cannot read properties of undefined (reading 'items')\n    at placeOrder (/app/.next/server/pages/api/checkout.js:{line}:{n})\n    at processTicksAndRejections (node:internal/process/task_queues:105:5)",
    ),
    t(
        ERROR,
        "upstream timed out (110: Connection timed out) while reading response header from upstream, client: {ip}, server: frontend, request: \"{method} {path} HTTP/1.1\"",
    ),
    t(ERROR, "Checkout failed for user {user}: {status}"),
    t(FATAL, "Next.js server crashed: ECONNRESET"),
];

pub static COMMERCE_TEMPLATES: &[Tmpl] = &[
    t(TRACE, "Serializing order {order} ({bytes} bytes)"),
    t(DEBUG, "Cart {user} loaded from valkey with {count} items"),
    t(DEBUG, "Shipping quote request: zip {zip}, {qty} items"),
    t(DEBUG, "Converted {amount} USD to {currency}"),
    t(
        DEBUG,
        "Publishing order {order} to topic {topic} partition {partition}",
    ),
    t(
        DEBUG,
        "Email template order_confirmation rendered in {ms}ms",
    ),
    t(
        INFO,
        "Order {order} placed by user {user} for {amount} {currency}",
    ),
    t(
        INFO,
        "Order {order} placed by user {user} for {amount} {currency}",
    ),
    t(INFO, "payment went through (transaction_id: {uuid})"),
    t(INFO, "Charging card ending {last4} for {amount} {currency}"),
    t(
        INFO,
        "Item {sku} added to cart of user {user} (quantity {qty})",
    ),
    t(INFO, "Cart emptied for user {user}"),
    t(INFO, "Shipping quote for zip {zip}: {amount} USD"),
    t(INFO, "Shipment created with tracking id {tracking}"),
    t(INFO, "Order confirmation sent to {email}"),
    t(INFO, "Received quote request for {qty} items"),
    t(INFO, "Calculated quote: {amount}"),
    t(INFO, "Order {order} recorded in ledger ({count} items)"),
    t(
        INFO,
        "Message delivered to topic {topic} [{partition}] at offset {offset}",
    ),
    t(INFO, "Loyalty level of user {user} is {loyalty}"),
    t(WARN, "Payment declined: card ending {last4}"),
    t(WARN, "Card ending {last4} expires soon ({n} months)"),
    t(WARN, "Cart of user {user} not found, creating a new one"),
    t(WARN, "Shipping quote service slow: {ms}ms for zip {zip}"),
    t(
        WARN,
        "Order {order} has {count} items, above the soft limit",
    ),
    t(WARN, "Email delivery to {email} deferred: mailbox full"),
    t(WARN, "Kafka producer queue {pct}% full"),
    t(
        ERROR,
        "Payment failed for order {order}: Credit card info is invalid",
    ),
    t(
        ERROR,
        "Failed to charge card ending {last4}: gateway timeout after {ms}ms",
    ),
    t(
        ERROR,
        "Failed to publish order {order}: kafka: client has run out of available brokers",
    ),
    t(
        ERROR,
        "Can't access cart storage. System.ApplicationException: Wasn't able to connect to redis\n   at cart.cartstore.ValkeyCartStore.EnsureRedisConnected() in /usr/src/app/src/cartstore/ValkeyCartStore.cs:line {line}\n   at cart.cartstore.ValkeyCartStore.GetCartAsync(String userId) in /usr/src/app/src/cartstore/ValkeyCartStore.cs:line {line}",
    ),
    t(
        ERROR,
        "failed to prepare order: failed to get product #\"{sku}\"",
    ),
    t(
        ERROR,
        "Email delivery to {email} failed: Net::SMTPAuthenticationError",
    ),
    t(
        FATAL,
        "Ledger database unreachable, aborting consumer {uuid}",
    ),
];

pub static CATALOG_TEMPLATES: &[Tmpl] = &[
    t(
        TRACE,
        "Query plan for products lookup: Index Scan using products_pkey (cost={n}.00)",
    ),
    t(DEBUG, "Loaded {count} products from database in {ms}ms"),
    t(DEBUG, "Product {sku} served from cache"),
    t(DEBUG, "Conversion request successful: {amount} {currency}"),
    t(DEBUG, "Feature flag recommendationCacheFailure is {bool}"),
    t(DEBUG, "Fetched {n} ads for category {category}"),
    t(
        DEBUG,
        "Consumed record from {topic}-{partition} at offset {offset}",
    ),
    t(
        INFO,
        "Receive ListRecommendations for product ids:[{sku}, {sku}, {sku}]",
    ),
    t(INFO, "Targeted ad request received for [{category}]"),
    t(
        INFO,
        "Non-targeted ad request received, preparing random response.",
    ),
    t(INFO, "Product Found - ID: {sku}, Name: {product}"),
    t(INFO, "Loaded {count} products"),
    t(
        INFO,
        "Search products request received with query: {category}",
    ),
    t(
        INFO,
        "Convert conversion successful from {currency} to {currency}",
    ),
    t(INFO, "Order {order} scored {pct} by fraud model v{version}"),
    t(
        INFO,
        "Consumed record with orderId: {order}, and updated total count to: {count}",
    ),
    t(INFO, "GetSupportedCurrencies returned {count} currencies"),
    t(
        INFO,
        "Recommendation cache refreshed with {count} products in {ms}ms",
    ),
    t(WARN, "Product Not Found: {sku}"),
    t(WARN, "Slow query on {table}: {ms}ms"),
    t(WARN, "Order {order} flagged as suspicious: score {pct}"),
    t(WARN, "Ad category {category} has no ads, using random ads"),
    t(
        WARN,
        "Kafka consumer lag on {topic}-{partition} is {count} messages",
    ),
    t(WARN, "Unsupported currency {code}, defaulting to USD"),
    t(
        ERROR,
        "Error fetching product {sku}: pq: canceling statement due to statement timeout",
    ),
    t(
        ERROR,
        "failed to query products: dial tcp {ip}:5432: connect: connection refused",
    ),
    t(
        ERROR,
        "GetAds Failed with status Status{code=RESOURCE_EXHAUSTED, description=null, cause=null}",
    ),
    t(
        ERROR,
        "Exception in thread \"{thread}\" java.lang.NullPointerException: Cannot invoke \"String.length()\" because \"category\" is null\n\tat oteldemo.AdService$AdServiceImpl.getAds(AdService.java:{line})\n\tat oteldemo.AdServiceGrpc$MethodHandlers.invoke(AdServiceGrpc.java:{line})\n\tat io.grpc.stub.ServerCalls$UnaryServerCallHandler$UnaryServerCallListener.onHalfClose(ServerCalls.java:182)",
    ),
    t(
        ERROR,
        "Traceback (most recent call last):\n  File \"/app/recommendation_server.py\", line {line}, in ListRecommendations\n    prod_list = get_product_list(request.product_ids)\n  File \"/app/recommendation_server.py\", line {line}, in get_product_list\n    raise ConnectionError(\"{host} unavailable\")\nConnectionError: {host} unavailable",
    ),
    t(ERROR, "Conversion failed: unknown currency {code}"),
    t(
        ERROR,
        "Failed to commit offset {offset} for {topic}-{partition}: CommitFailedException",
    ),
    t(
        FATAL,
        "Could not load product catalog: open products.json: no such file or directory",
    ),
];

/// Product names for `{product}`.
pub const PRODUCT_NAMES: &[&str] = &[
    "National Park Foundation Explorascope",
    "Starsense Explorer Refractor Telescope",
    "Roof Binoculars",
    "Solar System Color Imager",
    "Red Flashlight",
    "Lens Cleaning Kit",
    "Eclipsmart Travel Refractor Telescope",
    "The Comet Book",
    "Optical Tube Assembly",
    "Solar Filter",
];
pub const FUNCS: &[&str] = &[
    "getProduct",
    "placeOrder",
    "convert",
    "listRecommendations",
    "getAds",
    "addItem",
    "chargeCard",
    "getQuote",
];
pub const FLAGS: &[&str] = &[
    "adServiceFailure",
    "cartFailure",
    "productCatalogFailure",
    "recommendationCacheFailure",
    "paymentFailure",
    "kafkaQueueProblems",
];
