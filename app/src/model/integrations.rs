//! Integrations with outside services, and the AWS regions they can use.
use serde::{Deserialize, Serialize};

use super::UsedBy;

/// The services an account can integrate with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Service {
    Dialogflow,
    DynamoDb,
    S3,
}

impl Service {
    pub const ALL: [Service; 3] = [Service::Dialogflow, Service::DynamoDb, Service::S3];

    /// The value stored and sent in forms.
    pub fn key(self) -> &'static str {
        match self {
            Service::Dialogflow => "dialogflow",
            Service::DynamoDb => "dynamodb",
            Service::S3 => "s3",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Service::Dialogflow => "Google Dialogflow",
            Service::DynamoDb => "Amazon DynamoDB",
            Service::S3 => "Amazon S3 (call recordings)",
        }
    }

    pub fn from_key(key: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|s| s.key() == key)
    }

    pub fn is_aws(self) -> bool {
        matches!(self, Service::DynamoDb | Service::S3)
    }
}

/// One integration as every user of the account sees it: never its secrets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationRow {
    pub id: i32,
    pub service: Service,
    pub name: String,
    pub description: String,
    pub region: Option<String>,
    /// Dialogflow's project id, or `…ABCD`: the last 4 characters of the AWS key id.
    pub hint: String,
    /// The day it was added, `YYYY-MM-DD`.
    pub added: String,
    /// The applications it is attached to (for a member, the names of those
    /// they can see, and how many others; an admin sees every name).
    pub used_by: UsedBy,
}

/// AWS regions, as listed by AWS on 2025-06-01: (code, name). Add new ones here.
pub const AWS_REGIONS: &[(&str, &str)] = &[
    ("us-east-1", "US East (N. Virginia)"),
    ("us-east-2", "US East (Ohio)"),
    ("us-west-1", "US West (N. California)"),
    ("us-west-2", "US West (Oregon)"),
    ("af-south-1", "Africa (Cape Town)"),
    ("ap-east-1", "Asia Pacific (Hong Kong)"),
    ("ap-south-1", "Asia Pacific (Mumbai)"),
    ("ap-south-2", "Asia Pacific (Hyderabad)"),
    ("ap-southeast-1", "Asia Pacific (Singapore)"),
    ("ap-southeast-2", "Asia Pacific (Sydney)"),
    ("ap-southeast-3", "Asia Pacific (Jakarta)"),
    ("ap-southeast-4", "Asia Pacific (Melbourne)"),
    ("ap-southeast-5", "Asia Pacific (Malaysia)"),
    ("ap-southeast-7", "Asia Pacific (Thailand)"),
    ("ap-northeast-1", "Asia Pacific (Tokyo)"),
    ("ap-northeast-2", "Asia Pacific (Seoul)"),
    ("ap-northeast-3", "Asia Pacific (Osaka)"),
    ("ca-central-1", "Canada (Central)"),
    ("ca-west-1", "Canada West (Calgary)"),
    ("eu-central-1", "Europe (Frankfurt)"),
    ("eu-central-2", "Europe (Zurich)"),
    ("eu-west-1", "Europe (Ireland)"),
    ("eu-west-2", "Europe (London)"),
    ("eu-west-3", "Europe (Paris)"),
    ("eu-south-1", "Europe (Milan)"),
    ("eu-south-2", "Europe (Spain)"),
    ("eu-north-1", "Europe (Stockholm)"),
    ("il-central-1", "Israel (Tel Aviv)"),
    ("me-south-1", "Middle East (Bahrain)"),
    ("me-central-1", "Middle East (UAE)"),
    ("mx-central-1", "Mexico (Central)"),
    ("sa-east-1", "South America (São Paulo)"),
];
