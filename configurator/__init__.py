"""configurator: organisers bound the options, attendees design their experience, staff export."""
