enum SinterModelsPlaceholder {}
