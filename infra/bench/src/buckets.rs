//! The bucket shapes the bench can run with: as shipped, or reshaped to compare designs.

use warroom_core::ratelimit::BucketSpec;

/// A GCRA bucket's shape: `capacity` tokens, one refilled every `interval_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub capacity: u32,
    pub interval_ms: i64,
}

impl Shape {
    pub const fn new(capacity: u32, interval_ms: i64) -> Self {
        Self { capacity, interval_ms }
    }

    /// The most takes this bucket can grant inside any window of `window_ms` milliseconds
    /// (half-open, millisecond clock): `capacity + floor((window_ms - 1) / interval_ms)`.
    /// A fresh `per(50, 1 s)` bucket (50 / 20 ms) gives 99 for a one-second window.
    pub fn max_in_window(&self, window_ms: i64) -> i64 {
        i64::from(self.capacity) + (window_ms - 1).max(0) / self.interval_ms.max(1)
    }

    /// The shape the proposed `BucketSpec::within(key, limit, per, burst)` would build: a
    /// burst of `burst` and the shortest interval that keeps [`Shape::max_in_window`] at
    /// `limit` (what a platform counting in sliding windows of `per` accepts).
    pub fn within(limit: u32, per_ms: i64, burst: u32) -> Self {
        let burst = burst.clamp(1, limit.max(1));
        let steady = i64::from(limit - burst) + 1;
        Self { capacity: burst, interval_ms: (per_ms.max(1) - 1) / steady + 1 }
    }

    /// Parses `CAP:INTERVAL_MS`, e.g. `1:21`.
    pub fn parse(s: &str) -> Option<Self> {
        let (c, i) = s.split_once(':')?;
        let (capacity, interval_ms) = (c.trim().parse().ok()?, i.trim().parse().ok()?);
        (capacity >= 1 && interval_ms >= 1).then_some(Self { capacity, interval_ms })
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}ms", self.capacity, self.interval_ms)
    }
}

/// Which buckets the engine takes tokens from before each Feishu call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Buckets {
    /// `FeishuPlatform::buckets()` as shipped (`BucketSpec::within`: app 3:22ms, messages
    /// 500:120ms, chat 2:334ms), with the engine's own reservations.
    Shipped,
    /// The shipped keys, with these shapes where given (`None` keeps the shipped one).
    /// `reserve`: instead of the engine polling the buckets (take, else defer and try
    /// again), every call reserves its slot: the first attempt is told exactly when its
    /// slot comes (`ImError::RateLimited { retry_after }`, so the job is deferred once, to
    /// that moment) and the retry at the slot goes through without waiting again. Simulated
    /// in the bench (an in-memory GCRA with reservations in front of each call; the engine
    /// is handed no buckets), to measure the design change proposed for `throttle`.
    Reshaped { name: String, app: Option<Shape>, messages: Option<Shape>, chat: Option<Shape>, reserve: bool },
}

impl Buckets {
    /// Window-safe shapes for the engine as it is (polling): a small burst, so a token
    /// freed while every waiting job is deferred is not lost, and at most `limit − 2`
    /// grants in any window of the platform's sliding limits (app 3:22ms → ≤ 48 in any
    /// second, 45.5/s; messages 500:120ms → ≤ 999 in any minute; chat 2:334ms → ≤ 4 in
    /// any second).
    pub fn proposed() -> Self {
        Buckets::Reshaped {
            name: "proposed".into(),
            app: Some(Shape::new(3, 22)),
            messages: Some(Shape::new(500, 120)),
            chat: Some(Shape::new(2, 334)),
            reserve: false,
        }
    }

    /// Slots reserved rather than polled for, burst-free: app 1:22ms (≤ 46 in any second,
    /// 45.5/s: the slack absorbs calls that reach their slot late), messages and chat as
    /// [`Buckets::proposed`].
    pub fn reserve() -> Self {
        Buckets::Reshaped {
            name: "reserve".into(),
            app: Some(Shape::new(1, 22)),
            messages: Some(Shape::new(500, 120)),
            chat: Some(Shape::new(2, 334)),
            reserve: true,
        }
    }

    pub fn reserves(&self) -> bool {
        matches!(self, Buckets::Reshaped { reserve: true, .. })
    }

    /// No burst but the full rate (app 1:20ms): ≤ 50 in any second, no slack for the
    /// delay between taking a token and the call reaching the platform.
    pub fn exact() -> Self {
        Buckets::Reshaped { name: "exact".into(), app: Some(Shape::new(1, 20)), messages: None, chat: None, reserve: false }
    }

    /// `shipped`, `proposed`, `exact`, `reserve`, or
    /// `app=CAP:MS[+messages=CAP:MS][+chat=CAP:MS][+reserve]`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "shipped" => return Some(Buckets::Shipped),
            "proposed" => return Some(Buckets::proposed()),
            "exact" => return Some(Buckets::exact()),
            "reserve" => return Some(Buckets::reserve()),
            _ => {}
        }
        let (mut app, mut messages, mut chat, mut reserve) = (None, None, None, false);
        for part in s.split(['+', ';']) {
            if part.trim() == "reserve" {
                reserve = true;
                continue;
            }
            let (k, v) = part.split_once('=')?;
            let shape = Some(Shape::parse(v)?);
            match k.trim() {
                "app" => app = shape,
                "messages" => messages = shape,
                "chat" => chat = shape,
                _ => return None,
            }
        }
        Some(Buckets::Reshaped { name: s.to_string(), app, messages, chat, reserve })
    }

    pub fn name(&self) -> String {
        match self {
            Buckets::Shipped => "shipped".into(),
            Buckets::Reshaped { name, .. } => name.clone(),
        }
    }

    /// The shipped specs, reshaped. Keys are the adapter's: `feishu.{app}.app`,
    /// `feishu.{app}.messages`, `feishu.{app}.chat.{chat}`.
    pub fn apply(&self, specs: Vec<BucketSpec>) -> Vec<BucketSpec> {
        let Buckets::Reshaped { app, messages, chat, .. } = self else { return specs };
        specs
            .into_iter()
            .map(|spec| {
                let shape = if spec.key.ends_with(".app") {
                    app
                } else if spec.key.ends_with(".messages") {
                    messages
                } else if spec.key.contains(".chat.") {
                    chat
                } else {
                    &None
                };
                match shape {
                    Some(s) => BucketSpec { key: spec.key, capacity: s.capacity, interval_ms: s.interval_ms },
                    None => spec,
                }
            })
            .collect()
    }

    /// One line per bucket kind, for the report.
    pub fn describe(&self) -> String {
        // Mirrors `FeishuPlatform::buckets()` (BucketSpec::within(48/s, 3), (999/min, 500), (4/s, 2)).
        let shipped = |name: &str| match name {
            "app" => Shape::new(3, 22),
            "messages" => Shape::new(500, 120),
            _ => Shape::new(2, 334),
        };
        let pick = |name: &str, s: &Option<Shape>| s.unwrap_or_else(|| shipped(name));
        let (a, m, c) = match self {
            Buckets::Shipped => (shipped("app"), shipped("messages"), shipped("chat")),
            Buckets::Reshaped { app, messages, chat, .. } => (pick("app", app), pick("messages", messages), pick("chat", chat)),
        };
        format!(
            "app {a} (≤{}/s window), messages {m} (≤{}/min window), chat {c} (≤{}/s window){}",
            a.max_in_window(1000),
            m.max_in_window(60_000),
            c.max_in_window(1000),
            match self {
                Buckets::Shipped => "; slots reserved by the engine",
                _ if self.reserves() => "; slots reserved (simulated)",
                _ => "; polled by the engine",
            }
        )
    }
}
