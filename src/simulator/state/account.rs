//! The organization: credits left and each model's tasks of the day, as `GET /v1/organization`
//! shows them.

use serde_json::{json, Value};

use super::tasks::Outcome;
use super::SimState;

impl SimState {
    pub fn daily_count(&self, model: &str) -> u32 {
        self.created_per_model.lock().unwrap().get(model).copied().unwrap_or(0)
    }

    pub fn tasks_created(&self) -> u32 {
        self.created_per_model.lock().unwrap().values().sum()
    }

    pub fn organization_json(&self) -> Value {
        let now = self.now();
        let spent: f64 = self
            .tasks
            .lock()
            .unwrap()
            .values()
            .filter(|t| t.outcome == Outcome::Succeed && now >= t.end)
            .map(|t| t.estimated.round())
            .sum();
        let counts = self.created_per_model.lock().unwrap();
        let mut tier_models = serde_json::Map::new();
        let mut usage_models = serde_json::Map::new();
        for m in &crate::catalogue::catalogue().models {
            tier_models.insert(
                m.model.clone(),
                json!({"maxConcurrentGenerations": self.cfg.max_concurrency, "maxDailyGenerations": self.cfg.daily_limit}),
            );
        }
        for (model, n) in counts.iter() {
            usage_models.insert(model.clone(), json!({"dailyGenerations": n}));
        }
        json!({
            "creditBalance": (self.cfg.credit_balance - spent).max(0.0).round() as i64,
            "tier": {"maxMonthlyCreditSpend": 10_000, "models": tier_models},
            "usage": {"models": usage_models},
        })
    }

    pub fn credits_left(&self) -> f64 {
        self.organization_json()["creditBalance"].as_f64().unwrap_or(0.0)
    }
}
